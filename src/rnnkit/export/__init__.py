"""TorchScript / ONNX export of saved models, with parity checks."""

"""MinGRU and MinLSTM (Feng et al. 2024): gates from the input alone, a linear recurrence.

- :mod:`.layers`: the ``MinGRU`` / ``MinLSTM`` modules (equations in its docstring);
- :mod:`.scan`: the chunked scan of h_t = a_t ⊙ h_{t-1} + b_t with its backward;
- :mod:`.fused`: one layer-direction on the fused C++ kernel (kernels/scan.cpp).
"""
from rnnkit.nn.minimal.layers import MinGRU, MinLSTM, g_activation

__all__ = ["MinGRU", "MinLSTM", "g_activation"]

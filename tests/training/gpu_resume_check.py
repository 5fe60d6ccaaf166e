"""GPU check: exact resume on CUDA after a crash mid-epoch 3 (in-process), and determinism."""
import sys, tempfile, torch
sys.path.insert(0, ".")
from pathlib import Path
from tests.training import resume_helper as h
from rnnkit.training import checkpoint as ck, Trainer, TrainConfig
from rnnkit.models import LAYERS_FROM

print("layers from", LAYERS_FROM, "torch", torch.__version__, torch.cuda.get_device_name())
d = Path(tempfile.mkdtemp())

class Crash:
    def __init__(s): s.e = 0; s.n = 0
    def on_epoch_start(s, t, e): s.e, s.n = e, 0
    def on_batch_end(s, t, step, loss):
        s.n += 1
        if s.e == 3 and s.n == 2: raise KeyboardInterrupt

def run(path, resume=False, crash=False, det=False):
    model, train, val = h.build()
    cfg = TrainConfig(epochs=4, batch_size=8, lr=1e-2, scheduler="cosine", seed=0, device="cuda",
                      progress=False, deterministic=det)
    try:
        Trainer(model, cfg, run_dir=path, callbacks=[Crash()] if crash else []).fit(train, val, resume=resume)
    except KeyboardInterrupt:
        print("crashed at epoch 3 batch 2")
    return ck.read_safetensors(path / "checkpoints/last/model.safetensors")

for det in (False, True):
    a = run(d / f"a{det}", det=det)
    a2 = run(d / f"a2{det}", det=det)
    run(d / f"b{det}", crash=True, det=det)
    print("state epoch after crash:", ck.load_state(d / f"b{det}/checkpoints/last")["epoch"])
    b = run(d / f"b{det}", resume=True, det=det)
    same = lambda x, y: all(torch.equal(x[k], y[k]) for k in x)
    maxdiff = max((x - y).abs().max().item() for x, y in zip(a.values(), b.values()))
    print(f"deterministic={det}: straight runs identical: {same(a, a2)}; resumed == straight: {same(a, b)}; max |diff| {maxdiff:.3g}")

"""Issue 2 acceptance figures for rnnkit.reference: worst gradcheck error, agreement with
torch.nn, stepwise-vs-whole and truncation, over RNN tanh/relu, LSTM, GRU x {1,2} layers x bias.

    python3 dev.py bench benchmarks/reference_accuracy.py
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests.reference helpers
from rnnkit.reference import gradcheck
from tests.reference._helpers import KINDS, make_layer, random_state, as_tuple
from tests.reference.test_against_torch import torch_twin, max_diff
from tests.reference.test_truncation import _detached_reference

rng = np.random.default_rng(2026)
gc_worst, torch_worst, step_worst, trunc_worst, full_eq = 0.0, 0.0, 0.0, 0.0, 0.0
for kind in KINDS:
    for L in (1, 2):
        for bias in (True, False):
            layer = make_layer(kind, num_layers=L, bias=bias, seed=11)
            T, B = 6, 3
            x = rng.standard_normal((T, B, 3))
            r = gradcheck(layer, x, seed=3)
            gc_worst = max(gc_worst, r.max_rel_error)
            print(f"{kind[0]:8s} L={L} bias={bias!s:5s} gradcheck {r.max_rel_error:.2e} ({r.worst})", end="")
            state, dstate = random_state(layer, B, rng), random_state(layer, B, rng)
            dy = rng.standard_normal((T, B, 4))
            y, sn, cache = layer.forward(x, state)
            dx, ds0, g = layer.backward(dy, cache, dstate)
            # torch
            m = torch_twin(kind, layer)
            xt = torch.tensor(x, requires_grad=True)
            st = [torch.tensor(s, requires_grad=True) for s in as_tuple(state)]
            yt, snt = m(xt, tuple(st) if len(st) == 2 else st[0])
            loss = (yt * torch.from_numpy(dy)).sum() + sum((a * torch.from_numpy(b)).sum() for a, b in zip(as_tuple(snt), as_tuple(dstate)))
            loss.backward()
            diffs = [max_diff(y, yt.detach()), max_diff(dx, xt.grad)]
            diffs += [max_diff(a, b.detach()) for a, b in zip(as_tuple(sn), as_tuple(snt))]
            diffs += [max_diff(a, b.grad) for a, b in zip(as_tuple(ds0), st)]
            diffs += [max_diff(g[n], p.grad) for n, p in m.named_parameters()]
            torch_worst = max(torch_worst, max(diffs))
            # stepwise
            s, caches, ys = state, [], []
            for t in range(T):
                yy, s, c = layer.forward(x[t:t+1], s); ys.append(yy); caches.append(c)
            d, dxs, gs = dstate, [], layer.zero_grads()
            for t in reversed(range(T)):
                a, d, gg = layer.backward(dy[t:t+1], caches[t], d); dxs.insert(0, a)
                for n in gg: gs[n] += gg[n]
            sd = [max_diff(np.concatenate(ys), y), max_diff(np.concatenate(dxs), dx)]
            sd += [max_diff(a, b) for a, b in zip(as_tuple(s), as_tuple(sn))]
            sd += [max_diff(a, b) for a, b in zip(as_tuple(d), as_tuple(ds0))]
            sd += [max_diff(gs[n], g[n]) for n in g]
            step_worst = max(step_worst, max(sd))
            # truncation
            tw = 0.0
            for k in (1, 2, 3, 5):
                tdx, tds0, tg = layer.backward(dy, cache, dstate, truncate=k)
                wdx, wds0, wg = _detached_reference(kind, layer, x, state, dy, dstate, k)
                tw = max([tw, max_diff(tdx, wdx)] + [max_diff(a, b) for a, b in zip(as_tuple(tds0), wds0)] + [max_diff(tg[n], wg[n]) for n in tg])
            trunc_worst = max(trunc_worst, tw)
            for k in (T, T + 4):
                fdx, fds0, fg = layer.backward(dy, cache, dstate, truncate=k)
                full_eq = max([full_eq, max_diff(fdx, dx)] + [max_diff(a, b) for a, b in zip(as_tuple(fds0), as_tuple(ds0))] + [max_diff(fg[n], g[n]) for n in g])
            print(f"  torch {max(diffs):.1e}  stepwise {max(sd):.1e}  trunc-vs-detached {tw:.1e}")
print(f"WORST gradcheck rel err {gc_worst:.2e} | vs torch max abs {torch_worst:.2e} | stepwise max abs {step_worst:.2e} | truncated k<T vs detached {trunc_worst:.2e} | k>=T vs full {full_eq:.1e}")

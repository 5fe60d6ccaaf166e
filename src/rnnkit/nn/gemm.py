"""The per-step recurrent product ``base + h @ W^T``, on MKL or on oneDNN with packed weights.

The time loops make one small GEMM per step, (B, K) × (K, N). On x86 CPUs oneDNN's GEMM
with a weight reordered once into its blocked layout is faster at these shapes than
MKL's ``addmm`` (docs/performance.md), and it adds ``base`` in the same call. It goes
through private ops (``torch.ops.mkldnn._reorder_linear_weight`` and
``_linear_pointwise``), so it is used only for float32 CPU tensors when those ops
exist and the one-off packing works; everything else takes ``torch.addmm`` with ``out=``.
``RNNKIT_ONEDNN=0`` in the environment turns the oneDNN route off (for comparisons).

Which is faster for the per-step product depends on the CPU (:func:`step_blas_preferred`):
on AMD EPYC (Zen 4) oneDNN beat MKL by 20-25 % at W of 2048×512; on an Intel Xeon
(Sapphire-Rapids class), one thread, CPU time, 64 steps at B = 32, H = 512, MKL with
W^T stored as contiguous rows took 33.5 ms forward against oneDNN's 38.6 ms (and 43.6 ms
for MKL reading W^T as a transposed view), and 30.6 ms against 36.0 ms backward
(dG · W_hh). The fused LSTM loops ask it; ``RNNKIT_STEP_GEMM=onednn|blas`` overrides.

The oneDNN route returns a new tensor; the MKL route writes ``out``. Callers use the
returned tensor either way.
"""
from __future__ import annotations

import os

import torch
from torch import Tensor

__all__ = ["StepMatmul", "input_projection", "onednn_available", "step_blas_preferred"]

# Below these sizes the one-off weight reorder costs more than oneDNN saves. The per-step
# product gains from about 3·256·256 weight elements up (one core, CPU time: W of
# 256×256 or 512×128 was 5-10% faster on MKL, 768×256 5-9% and 2048×512 20-25% faster
# on oneDNN, forward and backward alike); the input projection gained at all our sizes.
MIN_STEPS = 16
MIN_WEIGHT = 64 * 64
MIN_STEP_WEIGHT = 3 * 256 * 256


def onednn_available() -> bool:
    """Whether the private oneDNN linear ops are present in this torch build."""
    if os.environ.get("RNNKIT_ONEDNN", "1") == "0":
        return False
    if not torch.backends.mkldnn.is_available():
        return False
    ops = getattr(torch.ops, "mkldnn", None)
    try:
        return ops is not None and hasattr(ops, "_reorder_linear_weight") and hasattr(ops, "_linear_pointwise")
    except RuntimeError:  # lazily loaded op namespaces raise instead of returning False
        return False


_VENDOR: list[str] = []


def _cpu_vendor() -> str:
    """The CPU's vendor_id from /proc/cpuinfo ("" where unknown), read once."""
    if not _VENDOR:
        vendor = ""
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("vendor_id"):
                        vendor = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        _VENDOR.append(vendor)
    return _VENDOR[0]


def step_blas_preferred() -> bool:
    """Whether the per-step products should run on BLAS (MKL) rather than oneDNN: on
    Intel CPUs (see the module doc), or when ``RNNKIT_STEP_GEMM=blas``."""
    choice = os.environ.get("RNNKIT_STEP_GEMM", "").strip().lower()
    if choice in ("blas", "onednn"):
        return choice == "blas"
    return _cpu_vendor() == "GenuineIntel"


class StepMatmul:
    """h (b, K) ↦ base + h @ W^T (b, N), for a fixed W (N, K), once per time step.

    ``batch`` is the usual number of rows and ``steps`` the number of products the
    weight serves; ``onednn=False`` forces MKL (the packed sequences' loops slice rows
    and need the in-place form).
    """

    def __init__(self, weight: Tensor, batch: int, onednn: bool = True, steps: int = MIN_STEPS):
        self.weight_t = weight.t()  # (K, N), a view: MKL reads the transposed layout
        self.packed = None
        worth_it = steps >= MIN_STEPS and weight.numel() >= MIN_STEP_WEIGHT  # packing has a fixed cost
        if onednn and worth_it and weight.device.type == "cpu" and weight.dtype == torch.float32 and onednn_available():
            try:
                self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)
            except (RuntimeError, NotImplementedError):  # no oneDNN kernel for this build/shape
                self.packed = None

    def step(self, base: Tensor, h: Tensor, out: Tensor) -> Tensor:
        """base + h @ W^T, in ``out`` (MKL, ``out`` may be ``base``) or a new tensor (oneDNN)."""
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise.binary(h, base, self.packed, None, "add")
        return torch.addmm(base, h, self.weight_t, out=out)

    def step_bias(self, bias: Tensor | None, h: Tensor, out: Tensor) -> Tensor:
        """h @ W^T + bias (bias (N,) or None), in ``out`` or a new tensor."""
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(h, self.packed, bias, "none", [], "")
        if bias is None:
            return torch.mm(h, self.weight_t, out=out)
        return torch.addmm(bias, h, self.weight_t, out=out)

    def addmm_(self, out: Tensor, h: Tensor) -> Tensor:
        """out += h @ W^T, in place (always MKL)."""
        return out.addmm_(h, self.weight_t)


def input_projection(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x (N, I) @ W^T + bias for all time steps at once: one GEMM, oneDNN when it applies."""
    big = x.shape[0] >= MIN_STEPS and weight.numel() >= MIN_WEIGHT
    if big and x.device.type == "cpu" and x.dtype == torch.float32 and onednn_available():
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), x.shape[0])
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), packed, bias, "none", [], "")
        except (RuntimeError, NotImplementedError):
            pass
    return torch.mm(x, weight.t()) if bias is None else torch.addmm(bias, x, weight.t())

"""Export a trained task model to TorchScript or ONNX, and check it against eager PyTorch.

    spec = load_for_export("runs/jv")                  # a run or model folder
    export_model(spec, "jv.onnx", "onnx")              # or "torchscript"
    report = check_export(spec, "jv.onnx", "onnx")     # max |diff| per (B, T); raises on mismatch

The exported graph takes the recurrent state as explicit inputs and returns the new
state (:mod:`rnnkit.export.wrappers`), so streaming and batch size 1 work:

    ONNX / TorchScript inputs     x, h0[, c0]        outputs   y, h_n[, c_n]
    x: (B, T, F) float, or (T, B) int64 ids for the character model; states (L*D, B, H)

The batch axis B and the time axis T are dynamic (ONNX ``dynamic_axes``; TorchScript is
scripted, not traced). The check runs, for B in (1, 4) and three T:

1. wrapper (eager) against the task model's own forward (zero state, or the carried
   state where the model takes one): proves the streaming form is the same model;
2. exported (ONNX Runtime, or ``torch.jit.load`` of the saved file) against the eager
   wrapper, from a random non-zero state: proves the file is.

on random inputs at the data's scale and, with ``real=real_inputs(spec, FILE)``, on real
ones. Both must agree within rtol 1e-4, atol 1e-5 (``np.allclose`` rule), else ExportError.
Supported: classifiers (``rnnkit classify``), character models (``rnnkit text``) and
:class:`rnnkit.models.RecurrentModel`. ONNX needs the optional ``onnx`` extra
(``pip install 'rnnkit[onnx]'``); TorchScript needs nothing more.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import CheckpointError, RnnkitError
from rnnkit.models import registry
from rnnkit.training import checkpoint as ckpt
from rnnkit.export import wrappers as ew

__all__ = ["ExportError", "ExportSpec", "FORMATS", "load_for_export", "spec_for", "export_model", "window_caveat",
           "check_export", "real_inputs", "describe", "write_description", "RTOL", "ATOL"]

FORMATS = ("torchscript", "onnx")
RTOL, ATOL = 1e-4, 1e-5
BATCHES = (1, 4)
LENGTHS = (1, 7, 23)
OPSET = 17


class ExportError(RnnkitError):
    """The model cannot be exported, or the exported file disagrees with eager PyTorch."""


@dataclass
class ExportSpec:
    """What to export and how to feed it."""

    kind: str  # classify | text | recurrent
    model: nn.Module  # the task model, eval mode
    wrapper: nn.Module  # streaming form (export_wrappers)
    make_x: Callable[[int, int, torch.Generator], Tensor]  # (B, T, gen) -> x
    batch_first: bool  # x is (B, T, ...) rather than (T, B)
    y_axes: dict  # dynamic axes of y
    reference: Callable[[Tensor, tuple], Optional[tuple]]  # task model's own outputs, or None
    info: Optional[dict] = None  # model.json, when loaded from a folder

    @property
    def state_names(self) -> tuple:
        return self.wrapper.state_names

    def zero_state(self, batch: int) -> tuple:
        shape = (self.wrapper.num_states, batch, self.wrapper.hidden_size)  # (L*D, B, H)
        return tuple(torch.zeros(shape) for _ in self.state_names)


# -------------------------------------------------------------------------- loading


def _model_folder(path: Path) -> Path:
    for cand in (path, path / "model", path / "checkpoints" / "best"):
        if (cand / ckpt.MODEL_JSON).is_file():
            return cand
    if not path.exists():
        raise CheckpointError(f"--model {str(path)!r} does not exist")
    raise CheckpointError(
        f"--model {str(path)!r} holds no model.json (looked in it, in model/ and in checkpoints/best/)"
    )


def _build(info: dict, where: str) -> tuple[str, Callable[[dict], nn.Module]]:
    """The model's task (its model.json tag, via the registry) and its builder."""
    try:
        kind = registry.task_of(info, where)
    except CheckpointError as err:
        raise ExportError(f"export: {err}") from None
    if kind == "forecast":
        raise ExportError("export: forecast models are not supported yet (classify, text and RecurrentModel are)")
    return kind, lambda c: registry.build_model(c, where)


def load_for_export(path: str | Path) -> ExportSpec:
    """Load the model in a run or model folder (safetensors only) and build its ExportSpec."""
    folder = _model_folder(Path(path))
    info = ckpt.read_model_config(folder)
    kind, build = _build(info, str(folder / ckpt.MODEL_JSON))
    normalize = (info.get("input") or {}).get("normalize") or {} if kind == "classify" else {}
    if isinstance(normalize, dict) and normalize.get("mode") == "series":
        raise ExportError("export: this classifier z-normalises each whole series before its network "
                          "(normalize = 'series'), which a step-by-step exported graph cannot do; "
                          "train with normalize = 'channel' (data.normalize) to export")
    model, _ = ckpt.load_model(folder, build)
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{str(folder / ckpt.WEIGHTS)!r}: tensor {name!r} holds NaN/Inf; refusing to export")
    spec = spec_for(model.eval(), kind)
    spec.info = info
    return spec


def window_caveat(spec: ExportSpec) -> Optional[str]:
    """One line when the exported graph differs from the classifier's own ``predict`` on some
    inputs, else None: a classifier trained with window slicing (``crop`` < 1) averages its
    probabilities over windows of each series of at least ``crop_min_length`` steps, while the
    graph runs every series whole (exact for shorter ones)."""
    saved = ((spec.info or {}).get("estimator") or {}) if spec.kind == "classify" else {}
    if float(saved.get("crop", 1.0)) >= 1.0:
        return None
    return (f"the exported graph runs each series whole; this classifier's predict averages windows of "
            f"{saved['crop']} times each series of {saved.get('crop_min_length', 1)} steps or more (crop < 1), "
            "so on such series the two differ (train with data.crop = 1.0 for an exact export)")


def _wrap(front: nn.Module, rnn: nn.Module, back: nn.Module) -> nn.Module:
    lstm = isinstance(rnn, nn.LSTM) or type(rnn).__name__ == "LSTM"
    return (ew.StreamingLSTM if lstm else ew.StreamingGRU)(front, rnn, back)


def _state_arg(states: tuple):
    return states if len(states) == 2 else states[0]


def spec_for(model: nn.Module, kind: str) -> ExportSpec:
    """The ExportSpec of an in-memory task model (``kind``: classify, text or recurrent)."""
    model = model.eval().cpu()
    if kind == "classify":
        if not hasattr(model, "rnn"):  # e.g. the LSTM-FCN hybrid: convolutions over whole series
            raise ExportError(f"export: a {type(model).__name__} classifier (convolutions over the whole "
                              "series) cannot be exported step by step yet; train with model='rnn' to export")
        if getattr(model, "num_members", 1) > 1:
            raise ExportError(f"export: a classifier with model.members = {model.num_members} (an ensemble) "
                              "cannot be exported yet; train with model.members = 1 to export")
        if getattr(model, "deltas", False):
            raise ExportError("export: a classifier with model.deltas = true cannot be exported yet "
                              "(the streaming front end has no step differences); train without it to export")
        front = ew.ClassifierFront(model.input_mean, model.input_std)
        n_feat = int(model.input_mean.shape[0])
        mean, std = model.input_mean, model.input_std

        def make_x(b, t, g):  # realistic scale: the training data's mean and spread
            return mean + std * torch.randn(b, t, n_feat, generator=g)  # (B, T, F)

        def reference(x, states):
            if any(bool(s.any()) for s in states):
                return None  # the classifier always starts from zeros
            return (model(x, torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)),)

        return ExportSpec(kind, model, _wrap(front, model.rnn, ew.ClassifierBack(model)), make_x,
                          True, {0: "batch"}, reference)
    if kind == "text":
        vocab = int(model.embed.num_embeddings)

        def make_x(b, t, g):
            return torch.randint(0, vocab, (t, b), generator=g)  # (T, B) ids

        def reference(x, states):
            logits, state = model(x, _state_arg(states))
            return (logits, *(state if isinstance(state, tuple) else (state,)))

        back = ew.LinearBack(model.head)
        return ExportSpec(kind, model, _wrap(ew.EmbedFront(model.embed), model.rnn, back), make_x,
                          False, {0: "time", 1: "batch"}, reference)
    if kind == "recurrent":
        n_in = int(model.model_config["input_size"])

        def make_x(b, t, g):
            return torch.randn(b, t, n_in, generator=g)  # (B, T, I)

        def reference(x, states):
            if any(bool(s.any()) for s in states):
                return None
            return (model(x),)

        back = ew.SequenceHeadBack(model.fc, model.head, model.num_directions, model.output_activation)
        y_axes = {0: "batch", 1: "time"} if model.head == "sequence" else {0: "batch"}
        return ExportSpec(kind, model, _wrap(ew.TimeMajor(), model.rnn, back), make_x, True, y_axes, reference)
    raise ExportError(f"export: unknown model kind {kind!r}")


# ------------------------------------------------------------------------ exporting


def _check_writable(out: Path) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ExportError(f"--out {str(out)!r}: {str(parent)!r} is a file, not a folder")
    if not parent.is_dir():
        raise ExportError(f"--out {str(out)!r}: folder {str(parent)!r} does not exist")
    if out.is_dir():
        raise ExportError(f"--out {str(out)!r} is a folder; give a file name")


def _save(out: Path, write: Callable[[Path], None]) -> None:
    """Write via a temp file in the same folder, then rename (no half-written model)."""
    tmp = out.with_name(f".tmp-{out.name}")
    try:
        write(tmp)
        tmp.replace(out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"--out {str(out)!r} cannot be written: {err.strerror or err}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _onnx_names(spec: ExportSpec) -> tuple[list[str], list[str], dict]:
    states = list(spec.state_names)
    outs = ["y"] + [s.replace("0", "_n") for s in states]
    x_axes = {0: "batch", 1: "time"} if spec.batch_first else {0: "time", 1: "batch"}
    axes = {"x": x_axes, "y": spec.y_axes}
    for name in states + outs[1:]:
        axes[name] = {1: "batch"}
    return ["x", *states], outs, axes


def export_model(spec: ExportSpec, out: str | Path, fmt: str) -> Path:
    """Write ``spec.wrapper`` as TorchScript (scripted) or ONNX (opset 17) to ``out``."""
    out = Path(out)
    if fmt not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    _check_writable(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 deprecation notices for jit / legacy ONNX
        if fmt == "torchscript":
            scripted = torch.jit.script(spec.wrapper)
            _save(out, lambda p: torch.jit.save(scripted, str(p)))
        else:
            _require_onnx()
            g = torch.Generator().manual_seed(0)
            example = (spec.make_x(2, 5, g), *spec.zero_state(2))
            inputs, outputs, axes = _onnx_names(spec)
            _save(out, lambda p: torch.onnx.export(
                spec.wrapper, example, str(p), dynamo=False, input_names=inputs,
                output_names=outputs, dynamic_axes=axes, opset_version=OPSET))
    return out


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ExportError("--format onnx needs the onnx extra: pip install 'rnnkit[onnx]'") from None


# -------------------------------------------------------------------------- checking


def _runner(spec: ExportSpec, path: Path, fmt: str) -> Callable[..., list[np.ndarray]]:
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = torch.jit.load(str(path), map_location="cpu")
        loaded.eval()
        return lambda *args: [t.detach().numpy() for t in loaded(*args)]
    _require_onnx()
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names, _, _ = _onnx_names(spec)
    return lambda *args: session.run(None, {n: a.numpy() for n, a in zip(names, args)})


def _compare(what: str, got, want) -> float:
    worst = 0.0
    for i, (a, b) in enumerate(zip(got, want)):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise ExportError(f"export check: {what}: output {i} has shape {a.shape}, eager {b.shape}")
        worst = max(worst, float(np.abs(a - b).max()) if a.size else 0.0)
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            raise ExportError(
                f"export check: {what}: output {i} differs from eager by up to {worst:.3g} "
                f"(rtol {RTOL}, atol {ATOL})"
            )
    return worst


@torch.no_grad()
def check_export(spec: ExportSpec, path: str | Path, fmt: str,
                 batches=BATCHES, lengths=LENGTHS, seed: int = 0,
                 real: Optional[Callable[[int, int], Optional[Tensor]]] = None) -> dict:
    """Compare the exported file with eager PyTorch; returns the figures, raises ExportError.

    ``real`` (from :func:`real_inputs`) adds the same comparisons on real data.
    """
    run = _runner(spec, Path(path), fmt)
    g = torch.Generator().manual_seed(seed)
    rows = []
    sources = [("random", lambda b, t: spec.make_x(b, t, g))] + ([("real", real)] if real else [])
    for (source, make), b, t in ((s, b, t) for s in sources for b in batches for t in lengths):
        x = make(b, t)
        if x is None:
            continue
        zeros = spec.zero_state(b)
        states = tuple(0.5 * torch.randn(s.shape, generator=g) for s in zeros)
        where = f"{fmt} {source} B={b} T={t}"
        eager = [o.numpy() for o in spec.wrapper(x, *states)]
        row = {"input": source, "batch": b, "time": t,
               "exported_vs_eager": _compare(where, run(x, *states), eager)}
        ref = spec.reference(x, states)
        if ref is None:  # the task model has no state input: compare from zeros
            ref = spec.reference(x, zeros)
            eager = [o.numpy() for o in spec.wrapper(x, *zeros)]
        row["wrapper_vs_model"] = _compare(f"{where} (streaming form vs model)",
                                           eager[: len(ref)], [r.numpy() for r in ref])
        rows.append(row)
    return {"format": fmt, "kind": spec.kind, "rtol": RTOL, "atol": ATOL, "cases": rows,
            "max_abs_diff": max(max(r["exported_vs_eager"], r["wrapper_vs_model"]) for r in rows)}


def real_inputs(spec: ExportSpec, path: str | Path) -> Callable[[int, int], Optional[Tensor]]:
    """``(B, T) -> x`` cut from a real data file, or None where the file is too short.

    Text models: a UTF-8 text file, encoded with the model's vocabulary (B consecutive
    runs of T characters). Classifiers: a ``.ts`` file (or WAV for audio models): the
    first B sequences at least T steps long, cut to T steps.
    """
    from rnnkit.errors import DataError

    path = Path(path)
    info = spec.info or {}
    if spec.kind == "text":
        from rnnkit.data.text import Vocab, read_corpus

        if "vocab" not in info:
            raise ExportError("--data needs the model's vocabulary (model.json 'vocab')")
        ids, _ = Vocab(tuple(info["vocab"])).encode(read_corpus(path))  # (N,)

        def text_x(b: int, t: int) -> Optional[Tensor]:
            if ids.numel() < b * t:
                return None
            return ids[: b * t].view(b, t).t().contiguous()  # (T, B)

        return text_x
    if spec.kind == "classify":
        from rnnkit.data.audio import AudioConfig
        from rnnkit.data.classify_inputs import load_unlabelled

        audio = (info.get("input") or {}).get("audio")
        seqs = load_unlabelled([path], AudioConfig(**audio) if audio else None).features
        if seqs[0].shape[1] != spec.model.input_mean.shape[0]:
            raise DataError(f"{path}: {seqs[0].shape[1]} features per step, the model takes "
                            f"{spec.model.input_mean.shape[0]}")

        def clf_x(b: int, t: int) -> Optional[Tensor]:
            long = [s[:t] for s in seqs if len(s) >= t][:b]
            if len(long) < b:
                return None
            return torch.from_numpy(np.stack(long)).float()  # (B, T, F)

        return clf_x
    raise ExportError(f"--data: real inputs are supported for classify and text models, not {spec.kind}")


def describe(spec: ExportSpec) -> dict:
    """Inputs and outputs of the exported graph, for a sidecar JSON."""
    inputs, outputs, axes = _onnx_names(spec)
    return {"kind": spec.kind, "inputs": inputs, "outputs": outputs,
            "dynamic_axes": {k: {str(i): n for i, n in v.items()} for k, v in axes.items()},
            "state_shape": ["num_layers*directions", "batch", spec.wrapper.hidden_size],
            "num_states": spec.wrapper.num_states}


def write_description(spec: ExportSpec, out: Path) -> Path:
    side = out.with_name(out.name + ".json")
    _save(side, lambda p: p.write_text(json.dumps(describe(spec), indent=2) + "\n"))
    return side

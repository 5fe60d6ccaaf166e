"""Sequence classification as plain functions: train, evaluate, predict.

    summary = train_classifier("train.ts", "runs/jv", test_path="test.ts")
    metrics = evaluate_classifier("runs/jv", "test.ts")
    rows    = predict_classifier("runs/jv", ["a.wav", "b.wav"])   # [(input, label, prob)]

Splits: without ``test_path`` a ``data.test_fraction`` of the groups (speakers, from
``data.group_pattern``; each file or case is its own group without one) is held out
for testing; ``data.val_fraction`` of the remaining groups is held out for validation
(early stopping and the best checkpoint). Every split is group-disjoint and written to
``summary.json``.

Resume: ``train_classifier(..., resume=True)`` continues the run in ``out`` from its
``checkpoints/last`` (weights, optimizer, schedule, every RNG); an interrupted run then
ends with the same weights and metrics as an uninterrupted one. Augmentation draws its
noise from a generator re-seeded from ``(train.seed, epoch)`` at each epoch, so it too
repeats exactly after a resume.

Weight averaging (``model.weight_average = "ema"`` or ``"swa"``): after every optimizer
step of the epochs past ``model.average_start * train.epochs`` the model folds its
weights into an average kept as buffers, so the checkpoints hold it and a resumed run
ends bit-identical; the model saved in ``model/`` (and so evaluate/predict) gets the
averaged weights, taken at the end of training rather than from the best checkpoint.

Run folder ``out``: the trainer's files (``config.json``, ``metrics.csv``, ``loss.png``,
``checkpoints/``), ``model/`` (``model.safetensors`` + ``model.json``: constructor
arguments, labels and the input front end), ``metrics.json``, ``confusion.png`` and
``summary.json`` (split, sizes, training time).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from rnnkit.data.audio import AudioConfig, features_from_signal, trim_silence
from rnnkit.data.audio_augment import augment_signal
from rnnkit.data.classify_inputs import LabelledSequences, load_labelled, load_unlabelled, natural_key
from rnnkit.data.sequences import SequenceDataset, collate_packed
from rnnkit.data.splits import group_disjoint_split
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.models.registry import build_model, tagged
from rnnkit.training.checkpoint import load_model, save_model
from rnnkit.tasks.classify.config import (ClassifyConfig, ClassifyDataConfig,
                                          ClassifyModelConfig, default_config)
from rnnkit.tasks.classify.metrics import classification_metrics, plot_confusion
from rnnkit.training.config import save_json, to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.distributed import leave_unless_main
from rnnkit.training.trainer import Trainer

__all__ = [
    "ClassifyModelConfig", "ClassifyDataConfig", "ClassifyConfig", "default_config",
    "build_classifier", "train_classifier", "load_classifier", "predict_classifier",
    "evaluate_classifier", "predict_proba",
]


# ------------------------------------------------------------------ model I/O
def build_classifier(model_json: dict) -> SequenceClassifier:
    """Rebuild a classifier from the ``model.json`` that :func:`train_classifier` writes."""
    if "model" not in model_json or "labels" not in model_json:
        raise CheckpointError("model.json is not a classifier's: it lacks 'model' or 'labels'")
    return build_model(model_json)


def load_classifier(model_dir: str | Path) -> tuple[SequenceClassifier, dict]:
    """A run folder (holding ``model/``) or a model folder -> (model in eval mode, model.json)."""
    model_dir = Path(model_dir)
    folder = model_dir / "model" if (model_dir / "model" / "model.json").is_file() else model_dir
    if not (folder / "model.json").is_file():
        raise CheckpointError(f"{model_dir}: no classifier here (expected {model_dir / 'model' / 'model.json'})")
    model, info = load_model(folder, build_classifier)
    return model.eval(), info


def predict_proba(model: SequenceClassifier, features: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """Class probabilities (N, C) for N sequences (T_i, F), in input order."""
    model.eval()
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            chunk = [(f.astype(np.float64) if dtype == torch.float64 else f, 0) for f in features[start:start + batch_size]]
            batch = collate_packed(chunk)
            out.append(model.predict_proba(batch["x"].to(device)).cpu().numpy())  # (b, C)
    return np.concatenate(out, axis=0)


# ------------------------------------------------------------------- helpers
def _encode(data: LabelledSequences, labels: list[str]) -> list[int]:
    index = {label: i for i, label in enumerate(labels)}
    targets = []
    for name, label in zip(data.names, data.labels or []):
        if label not in index:
            shown = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
            raise DataError(f"{name}: label {label!r} is not one of the {len(labels)} training labels ({shown})")
        targets.append(index[label])
    return targets


def _check_compatible(data: LabelledSequences, kind: str, n_features: int, what: str) -> None:
    if data.kind != kind:
        raise DataError(f"{what} holds {data.kind} inputs but the model was trained on {kind} inputs")
    if data.n_features != n_features:
        raise DataError(f"{what} has {data.n_features} features per step but the model expects {n_features}")


def _split_report(data: LabelledSequences, idx: list[int]) -> dict:
    groups = sorted({data.groups[i] for i in idx}, key=natural_key)
    return {"n": len(idx), "n_groups": len(groups), "groups": groups if len(groups) <= 200 else groups[:200]}


def _balanced_weights(targets: list[int], n_classes: int) -> list[float]:
    counts = np.bincount(targets, minlength=n_classes)
    return [len(targets) / (n_classes * c) if c else 1.0 for c in counts]


# --------------------------------------------------------------------- train
def train_classifier(train_path: str | Path, out: str | Path, test_path: str | Path | None = None,
                     config: ClassifyConfig | None = None, log: Callable[[str], None] = print,
                     resume: bool = False) -> dict:
    """Train on ``train_path``, test on ``test_path`` (or a held-out group split); see module doc.

    ``resume``: continue the run in ``out`` from ``out/checkpoints/last``.
    """
    cfg = config or ClassifyConfig()
    out = Path(out)
    if resume and not (out / "checkpoints" / "last").is_dir():
        raise CheckpointError(f"cannot resume: {str(out)!r} holds no checkpoint "
                              f"({str(out / 'checkpoints' / 'last')!r} does not exist)")
    with torch_threads(cfg.train.threads):
        return _train(train_path, out, test_path, cfg, log, resume)


class _EpochRng:
    """A NumPy generator re-seeded from (seed, epoch) when each epoch starts (a callback).

    Augmentation draws from ``.rng``; what epoch e draws depends on nothing before it,
    so a resumed run draws exactly what an uninterrupted one would.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng([seed, 0])

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.rng = np.random.default_rng([self.seed, epoch])


class _WeightAverage:
    """Calls ``model.update_average()`` after every optimizer step of epoch > ``after`` (a callback).

    It runs before the epoch's checkpoint is written, so the checkpoint holds the average.
    """

    def __init__(self, model: SequenceClassifier, after: int) -> None:
        self.model, self.after, self.epoch = model, after, 0

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        if self.epoch > self.after:
            self.model.update_average()


def _split(data: LabelledSequences, train_path, test_path, cfg: ClassifyConfig):
    """(test set, train indices, validation indices): the --test file or held-out groups."""
    dcfg = cfg.data
    everything = list(range(len(data.names)))
    if test_path is not None:
        test = load_labelled(test_path, cfg.audio, dcfg.label_pattern, dcfg.group_pattern)
        _check_compatible(test, data.kind, data.n_features, str(test_path))
        pool = everything
    else:
        pool, test_idx = group_disjoint_split(data.groups, dcfg.test_fraction, dcfg.split_seed)
        test = data.subset(test_idx)
    if dcfg.val_fraction > 0:
        keep, val = group_disjoint_split([data.groups[i] for i in pool], dcfg.val_fraction, dcfg.split_seed + 1)
        return test, [pool[i] for i in keep], [pool[i] for i in val]
    return test, list(pool), []


def _model_json(cfg: ClassifyConfig, data: LabelledSequences, labels: list[str], y_train: list[int],
                frames: np.ndarray) -> tuple[dict, float]:
    """The tagged model.json of the classifier to train, and the weight-average start."""
    margs = to_dict(cfg.model)
    average_start = margs.pop("average_start")  # the callback's, not the model's
    if not 0.0 <= average_start < 1.0:
        raise ConfigError(f"model.average_start must be in [0, 1), got {average_start}")
    balanced = cfg.data.class_weights == "balanced"
    model_args = dict(
        input_size=data.n_features, num_classes=len(labels), **margs,
        class_weights=_balanced_weights(y_train, len(labels)) if balanced else None,
        input_mean=frames.mean(axis=0).tolist(), input_std=frames.std(axis=0).tolist(),
    )
    return tagged("classify", {
        "model": model_args, "labels": labels,
        "input": {"kind": data.kind, "n_features": data.n_features,
                  "audio": cfg.audio.to_dict() if data.kind == "wav" else None},
    }), average_start


def _loaders(cfg: ClassifyConfig, data, train_set, y_train, val_set, y_val, frames, noise: "_EpochRng"):
    """The training loader (augmented when asked, drawing from ``noise``) and the validation one."""
    dcfg, audio = cfg.data, cfg.audio
    transform = None
    if dcfg.augment and data.kind == "wav":
        signals = [trim_silence(x, audio) for x in train_set.signals]  # augment the word, not its silences
        transform = lambda i: features_from_signal(  # noqa: E731
            augment_signal(signals[i], audio.sample_rate, noise.rng, audio), audio, noise.rng)
    elif dcfg.augment:  # .ts: Gaussian jitter, data.jitter standard deviations of each feature
        scale = (dcfg.jitter * frames.std(axis=0)).astype(np.float32)  # (F,)
        feats = train_set.features
        transform = lambda i: feats[i] + scale * noise.rng.standard_normal(feats[i].shape, dtype=np.float32)  # noqa: E731
    train_ds = SequenceDataset(train_set.features, y_train, train_set.names, transform=transform)
    loader = torch.utils.data.DataLoader(
        train_ds, batch_size=cfg.train.batch_size, shuffle=True, collate_fn=collate_packed,
        generator=torch.Generator().manual_seed(cfg.train.seed),
    )
    if not len(val_set.names):
        return loader, None
    val_ds = SequenceDataset(val_set.features, y_val, val_set.names)
    return loader, torch.utils.data.DataLoader(val_ds, batch_size=cfg.train.batch_size, collate_fn=collate_packed)


def _train(train_path, out: Path, test_path, cfg: ClassifyConfig, log, resume: bool = False) -> dict:
    dcfg = cfg.data
    data = load_labelled(train_path, cfg.audio, dcfg.label_pattern, dcfg.group_pattern, keep_signals=dcfg.augment)
    labels = list(data.declared_labels) if data.declared_labels else sorted(set(data.labels), key=natural_key)
    if len(set(data.labels)) < 2:
        raise DataError(f"{train_path}: training needs at least 2 classes, found {sorted(set(data.labels))}")
    test, train_idx, val_idx = _split(data, train_path, test_path, cfg)
    train_set, val_set = data.subset(train_idx), data.subset(val_idx)
    y_train, y_val, y_test = _encode(train_set, labels), _encode(val_set, labels), _encode(test, labels)

    frames = np.concatenate(train_set.features, axis=0)  # (sum T, F)
    model_json, average_start = _model_json(cfg, data, labels, y_train, frames)
    torch.manual_seed(cfg.train.seed)
    model = build_classifier(model_json)
    noise = _EpochRng(cfg.train.seed)
    loader, val_loader = _loaders(cfg, data, train_set, y_train, val_set, y_val, frames, noise)

    log(f"classify: {len(train_idx)} train / {len(val_idx)} validation / {len(test.names)} test "
        f"sequences, {len(labels)} classes, {data.n_features} features per step")
    callbacks: list = [noise]
    if cfg.model.weight_average != "none":
        callbacks.append(_WeightAverage(model, int(average_start * cfg.train.epochs)))
    trainer = Trainer(model, cfg.train, run_dir=out, model_config=model_json, callbacks=callbacks,
                      run_config={**to_dict(cfg), "train_path": str(train_path),
                                  "test_path": None if test_path is None else str(test_path)})
    result = trainer.fit(loader, val_loader, resume=resume)
    leave_unless_main()  # under torchrun, rank 0 alone evaluates and writes
    if cfg.model.weight_average == "none":
        trainer.load_best()
    else:  # the average at the end of training replaces the best checkpoint
        model.use_average()
    model.cpu().eval()
    save_model(out / "model", model, model_json)

    metrics = _write_evaluation(model, labels, test, y_test, out)
    summary = {
        "train_seconds": round(result.seconds, 2), "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch, "stopped_reason": result.stopped_reason,
        "accuracy": metrics["accuracy"], "n_test": metrics["n_test"],
        "split": {"train": _split_report(data, train_idx), "validation": _split_report(data, val_idx),
                  "test": _split_report(test, list(range(len(test.names)))),
                  "test_source": "file" if test_path is not None else f"held-out groups (seed {dcfg.split_seed})"},
    }
    save_json(out / "summary.json", summary)
    log(f"classify: test accuracy {metrics['accuracy']:.4f} on {metrics['n_test']} sequences "
        f"after {result.epochs_run} epochs in {result.seconds:.1f} s; wrote {out}")
    return summary


def _write_evaluation(model: SequenceClassifier, labels: list[str], test: LabelledSequences,
                      y_test: list[int], out: Path | None) -> dict:
    probs = predict_proba(model, test.features)  # (N, C)
    metrics = classification_metrics(y_test, probs.argmax(axis=1).tolist(), labels)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        save_json(out / "metrics.json", metrics)
        plot_confusion(metrics["confusion_matrix"], labels, out / "confusion.png",
                       title=f"accuracy {metrics['accuracy']:.3f} (n={metrics['n_test']})")
    return metrics


# ------------------------------------------------------------ evaluate/predict
def _audio_of(info: dict) -> AudioConfig | None:
    audio = (info.get("input") or {}).get("audio")
    return AudioConfig.from_saved(audio) if audio else None


def evaluate_classifier(model_dir: str | Path, test_path: str | Path, out: str | Path | None = None,
                        label_pattern: str | None = None, group_pattern: str | None = None) -> dict:
    """Metrics of a trained classifier on a labelled ``.ts`` file or WAV folder."""
    model, info = load_classifier(model_dir)
    audio = _audio_of(info) or AudioConfig()
    test = load_labelled(test_path, audio, label_pattern, group_pattern)
    _check_compatible(test, info["input"]["kind"], info["input"]["n_features"], str(test_path))
    return _write_evaluation(model, list(info["labels"]), test, _encode(test, list(info["labels"])),
                             None if out is None else Path(out))


def predict_classifier(model_dir: str | Path, inputs: Sequence[str | Path]) -> list[tuple[str, str, float]]:
    """(input, predicted label, its probability) for each WAV file or ``.ts`` case."""
    model, info = load_classifier(model_dir)
    data = load_unlabelled(inputs, _audio_of(info))
    _check_compatible(data, info["input"]["kind"], info["input"]["n_features"], "the input")
    probs = predict_proba(model, data.features)  # (N, C)
    best = probs.argmax(axis=1)
    return [(name, info["labels"][k], float(probs[i, k])) for i, (name, k) in enumerate(zip(data.names, best))]


def metrics_text(metrics: dict) -> str:
    """A JSON rendering of the metrics (what ``rnnkit classify evaluate`` prints)."""
    return json.dumps({k: metrics[k] for k in ("accuracy", "n_test", "per_class", "macro_f1")}, indent=2)

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
averaged weights, taken at the end of training rather than from the best checkpoint (a
run stopped before averaging started keeps the best checkpoint, as without averaging).

Each function is a thin layer over :class:`rnnkit.tasks.classify.Classifier`: training
reads the files, splits them, and calls the estimator's fit with the run folder (the
trainer's checkpoints), the validation set and the ``[train]`` table; ``model/`` is the
estimator's ``save``; evaluate and predict ``Classifier.load`` it.

Run folder ``out``: the trainer's files (``config.json``, ``metrics.csv``, ``loss.png``,
``checkpoints/``), ``model/`` (``model.safetensors`` + ``model.json``: constructor
arguments, labels and the input front end), ``metrics.json``, ``confusion.png`` and
``summary.json`` (split, sizes, training time).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rnnkit.data.audio import AudioConfig, features_from_signal, trim_silence
from rnnkit.data.audio_augment import augment_signal
from rnnkit.data.audio_mix import mixup_item
from rnnkit.data.audio_tta import average_views, tta_features
from rnnkit.data.classify_inputs import LabelledSequences, load_labelled, load_unlabelled, natural_key
from rnnkit.data.splits import group_disjoint_split
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks.classify.config import (ClassifyConfig, ClassifyDataConfig,
                                          ClassifyModelConfig, default_config)
from rnnkit.models.networks import network_options
from rnnkit.tasks.classify.adapt import adapted, group_indices
from rnnkit.tasks.classify.estimator import Classifier
from rnnkit.tasks.classify.fitting import ChanceLevelWarning
from rnnkit.tasks.classify.metrics import classification_metrics, plot_confusion
from rnnkit.training.config import save_json, to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.distributed import is_main, leave_unless_main
from rnnkit.training.fresh_run import check_fresh_run

__all__ = [
    "ClassifyModelConfig", "ClassifyDataConfig", "ClassifyConfig", "default_config",
    "classifier_from_config", "train_classifier", "load_classifier", "predict_classifier",
    "evaluate_classifier", "fit_on", "probabilities", "audio_of",
]


# ------------------------------------------------------------------ model I/O
def _load(model_dir: str | Path) -> Classifier:
    model_dir = Path(model_dir)
    folder = model_dir / "model" if (model_dir / "model" / "model.json").is_file() else model_dir
    if not (folder / "model.json").is_file():
        raise CheckpointError(f"{model_dir}: no classifier here (expected {model_dir / 'model' / 'model.json'})")
    return Classifier.load(folder)


def load_classifier(model_dir: str | Path):
    """A run folder (holding ``model/``) or a model folder -> (network in eval mode, model.json)."""
    clf = _load(model_dir)
    return clf.network_, clf.info_


def classifier_from_config(cfg: ClassifyConfig, kind: str = "ts", grouped: bool = False) -> Classifier:
    """The :class:`Classifier` a config describes (``[model]``, ``[data]``, ``[train]``); ``grouped``:
    the caller gives each input's group itself (``data.group_batches`` then needs no ``data.group_pattern``)."""
    margs, dcfg, tcfg = to_dict(cfg.model), cfg.data, cfg.train
    if not 0.0 <= cfg.model.average_start < 1.0:  # named as the config key (the estimator says average_start)
        raise ConfigError(f"model.average_start must be in [0, 1), got {cfg.model.average_start}")
    if not 0.0 < cfg.data.crop <= 1.0 or cfg.data.crop_min_length < 1:  # named as the config keys
        raise ConfigError(f"data.crop must be in (0, 1] and data.crop_min_length >= 1, "
                          f"got {cfg.data.crop} and {cfg.data.crop_min_length}")
    if dcfg.group_batches and not dcfg.group_pattern and not grouped:
        raise ConfigError("data.group_batches needs data.group_pattern (--group-pattern): the groups "
                          "each training batch holds")
    network = margs.pop("network")
    defaults = to_dict(ClassifyModelConfig())
    taken = network_options(network, {k: v for k, v in margs.items()})
    for key, value in margs.items():  # a setting the network would silently ignore is refused
        if key not in taken and value != defaults[key] and key not in ("average_start",):
            raise ConfigError(f"model.{key} = {value!r} does not apply to model.network = {network!r}; "
                              f"remove it, or set model.network = {'lstm_fcn' if network == 'rnn' else 'rnn'!r}")
    for key in ("filters", "kernels", "dilations"):  # empty: the network's own default
        margs[key] = tuple(margs[key]) or None
    return Classifier(
        model=network, **margs, normalize=dcfg.normalize, batch_size=tcfg.batch_size, lr=tcfg.lr,
        weight_decay=tcfg.weight_decay, grad_clip=tcfg.grad_clip or 0.0, patience=tcfg.patience,
        class_weight="balanced" if dcfg.class_weights == "balanced" else None,
        jitter=dcfg.jitter if dcfg.augment and kind != "wav" else 0.0,
        crop=dcfg.crop, crop_min_length=dcfg.crop_min_length,
        random_state=tcfg.seed, device=tcfg.device, threads=tcfg.threads, verbose=tcfg.progress,
        partner=None,  # the CLI's network alone: its defaults were chosen on spoken digits without one
        group_batches=dcfg.group_batches,
    )


# ------------------------------------------------------------------- helpers
def _check_labels(data: LabelledSequences, labels: list[str]) -> None:
    known = set(labels)
    for name, label in zip(data.names, data.labels or []):
        if label not in known:
            shown = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
            raise DataError(f"{name}: label {label!r} is not one of the {len(labels)} training labels ({shown})")


def _check_compatible(data: LabelledSequences, kind: str, n_features: int, what: str) -> None:
    if data.kind != kind and not (kind == "array" and data.kind == "ts"):  # arrays: series as .ts holds them
        raise DataError(f"{what} holds {data.kind} inputs but the model was trained on {kind} inputs")
    if data.n_features != n_features:
        raise DataError(f"{what} has {data.n_features} features per step but the model expects {n_features}")


def _split_report(data: LabelledSequences, idx: list[int]) -> dict:
    groups = sorted({data.groups[i] for i in idx}, key=natural_key)
    return {"n": len(idx), "n_groups": len(groups), "groups": groups if len(groups) <= 200 else groups[:200]}


# --------------------------------------------------------------------- train
def train_classifier(train_path: str | Path, out: str | Path, test_path: str | Path | None = None,
                     config: ClassifyConfig | None = None, log: Callable[[str], None] = print,
                     resume: bool = False, overwrite: bool = False) -> dict:
    """Train on ``train_path``, test on ``test_path`` (or a held-out group split); see module doc.

    ``resume``: continue the run in ``out`` from ``out/checkpoints/last``. ``overwrite``:
    replace an earlier run in ``out``; without it a fresh run into a folder that holds
    one stops before any work (:mod:`rnnkit.training.fresh_run`).
    """
    cfg = config or ClassifyConfig()
    out = Path(out)
    if is_main():  # under torchrun rank 0 alone checks the folder, as it alone writes
        check_fresh_run(out, resume=resume, overwrite=overwrite, task="classify")
    if resume and not (out / "checkpoints" / "last").is_dir():
        raise CheckpointError(f"cannot resume: {str(out)!r} holds no checkpoint "
                              f"({str(out / 'checkpoints' / 'last')!r} does not exist)")
    with torch_threads(cfg.train.threads):
        return _train(train_path, out, test_path, cfg, log, resume)


def _split(data: LabelledSequences, train_path, test_path, cfg: ClassifyConfig):
    """(test set, train indices, validation indices): the --test file or held-out groups."""
    dcfg = cfg.data
    everything = list(range(len(data.names)))
    if test_path is not None:
        test = load_labelled(test_path, cfg.audio, dcfg.label_pattern, dcfg.group_pattern,
                             keep_signals=cfg.audio.tta > 0)
        _check_compatible(test, data.kind, data.n_features, str(test_path))
        pool = everything
    else:
        pool, test_idx = group_disjoint_split(data.groups, dcfg.test_fraction, dcfg.split_seed)
        test = data.subset(test_idx)
    if dcfg.val_fraction > 0:
        keep, val = group_disjoint_split([data.groups[i] for i in pool], dcfg.val_fraction, dcfg.split_seed + 1)
        return test, [pool[i] for i in keep], [pool[i] for i in val]
    return test, list(pool), []


def _fit_logging_warnings(clf: Classifier, log: Callable[[str], None], **fit_args) -> list[str]:
    """``clf._fit(**fit_args)``; the chance-level warning comes back as text (for ``log``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ChanceLevelWarning)
        clf._fit(**fit_args)
    lines = []
    for w in caught:
        if issubclass(w.category, ChanceLevelWarning):
            lines.append(f"classify: warning: {w.message}")
        else:  # anything else goes on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return lines


def _mixed_features(item: tuple[np.ndarray, np.ndarray], audio: AudioConfig,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(mixed signal (N,), soft target (K,)) -> (features (T, F), the same target)."""
    return features_from_signal(item[0], audio, rng), item[1]


def fit_on(cfg: ClassifyConfig, train_set: LabelledSequences, val_set: LabelledSequences, labels: list[str],
           log: Callable[[str], None] | None = None, *, run_dir: Path | None = None, resume: bool = False,
           run_config: dict | None = None, grouped: bool = False) -> Classifier:
    """The classifier ``cfg`` describes, fitted on ``train_set`` (``val_set``, which may be empty,
    for the best epoch; ``labels``: the class order), with the ``audio.aug_*`` augmentation of
    WAV signals when ``data.augment``: what ``rnnkit classify train`` and
    :class:`~rnnkit.tasks.classify.speech.SpeechClassifier` share. ``log``: the chance-level
    warning as a line to it (None: as a warning); ``run_dir``: the trainer's files (and
    ``resume`` from them). Under torchrun, ranks other than 0 leave after training."""
    dcfg, audio = cfg.data, cfg.audio
    features = None
    if dcfg.augment and train_set.kind == "wav":  # the audio.aug_* steps (data.audio_augment), fresh every epoch
        signals = [trim_silence(x, audio) for x in train_set.signals]  # augment the word, not its silences
        signal = lambda i, rng: augment_signal(signals[i], audio.sample_rate, rng, audio)  # noqa: E731
        if not audio.aug_mixup:
            features = lambda i, rng: features_from_signal(signal(i, rng), audio, rng)  # noqa: E731
        else:  # pairs mixed in the waveform, soft targets (data.audio_mix): ((T, F), (K,))
            codes = np.asarray([labels.index(label) for label in train_set.labels])
            features = lambda i, rng: _mixed_features(  # noqa: E731
                mixup_item(i, rng, signal, codes, len(labels), audio.aug_mixup, audio.aug_prob), audio, rng)
    clf = classifier_from_config(cfg, train_set.kind, grouped)
    fit_args = dict(X=train_set.features, y=train_set.labels, validation=(val_set.features, val_set.labels),
                    classes=np.asarray(labels), train_config=cfg.train, run_dir=run_dir, resume=resume,
                    features=features, groups=train_set.groups if dcfg.group_batches else None,
                    input_info={"kind": train_set.kind,
                                "audio": audio.to_dict() if train_set.kind == "wav" else None},
                    run_config=run_config if run_config is not None else to_dict(cfg))
    warned: list[str] = []
    if log is None:  # a warning stays a warning
        clf._fit(**fit_args)
    else:
        warned = _fit_logging_warnings(clf, log, **fit_args)
    leave_unless_main()  # under torchrun, rank 0 alone evaluates and writes
    for line in warned:
        log(line)
    return clf


def _train(train_path, out: Path, test_path, cfg: ClassifyConfig, log, resume: bool = False) -> dict:
    dcfg, audio = cfg.data, cfg.audio
    data = load_labelled(train_path, audio, dcfg.label_pattern, dcfg.group_pattern,
                         keep_signals=dcfg.augment or audio.tta > 0)
    labels = list(data.declared_labels) if data.declared_labels else sorted(set(data.labels), key=natural_key)
    if len(set(data.labels)) < 2:
        raise DataError(f"{train_path}: training needs at least 2 classes, found {sorted(set(data.labels))}")
    test, train_idx, val_idx = _split(data, train_path, test_path, cfg)
    train_set, val_set = data.subset(train_idx), data.subset(val_idx)
    for part in (train_set, val_set, test):
        _check_labels(part, labels)

    log(f"classify: {len(train_idx)} train / {len(val_idx)} validation / {len(test.names)} test "
        f"sequences, {len(labels)} classes, {data.n_features} features per step")
    clf = fit_on(cfg, train_set, val_set, labels, log, run_dir=out, resume=resume,
                 run_config={**to_dict(cfg), "train_path": str(train_path),
                             "test_path": None if test_path is None else str(test_path)})
    clf.save(out / "model")

    metrics = _write_evaluation(clf, test, out)
    summary = {
        "train_seconds": round(clf.train_seconds_, 2), "epochs_run": len(clf.history_),
        "best_epoch": clf.best_epoch_, "stopped_reason": clf.stopped_reason_,
        "accuracy": metrics["accuracy"], "n_test": metrics["n_test"],
        "chance_level": clf.chance_level_,
        "split": {"train": _split_report(data, train_idx), "validation": _split_report(data, val_idx),
                  "test": _split_report(test, list(range(len(test.names)))),
                  "test_source": "file" if test_path is not None else f"held-out groups (seed {dcfg.split_seed})"},
    }
    save_json(out / "summary.json", summary)
    log(f"classify: test accuracy {metrics['accuracy']:.4f} on {metrics['n_test']} sequences "
        f"after {len(clf.history_)} epochs in {clf.train_seconds_:.1f} s; wrote {out}")
    return summary


def probabilities(clf: Classifier, data: LabelledSequences) -> np.ndarray:
    """Class probabilities (N, C); with the model's ``audio.tta`` > 0, the mean over each WAV
    file's clean features and its test-time augmentation views (:mod:`rnnkit.data.audio_tta`)."""
    audio = audio_of(clf.info_)
    if audio is None or not audio.tta or data.kind != "wav" or data.signals is None:
        return clf.predict_proba(data.features)
    return average_views(clf.predict_proba, [tta_features(x, audio) for x in data.signals])


def unadapted_hint(clf: Classifier, model_dir: str | Path, warn: Callable[[str], None]) -> None:
    """One line to ``warn`` when a model trained on one group per batch is about to predict
    without ``adapt``: it works, but such a model is meant to be adapted to each new group."""
    if getattr(clf, "group_batches", False):
        warn(f"{model_dir}: trained with data.group_batches, so it predicts best with --adapt "
             f"(the files of one voice or group at a time); predicting without it")


def _adapted_by_group(clf: Classifier, data: LabelledSequences) -> np.ndarray:
    """:func:`probabilities` of each group (speaker) of ``data`` by a copy of ``clf`` adapted to
    that group's files (:mod:`.adapt`): how a model trained on one group per batch is evaluated."""
    probs = np.zeros((len(data.names), len(clf.classes_)))
    for group, idx in group_indices(data.groups):
        if len(idx) < 2:
            raise DataError(f"{data.names[idx[0]]}: the only file of group {group!r}; a model trained with "
                            f"data.group_batches is evaluated adapted to each group (--group-pattern), "
                            f"which needs 2 files or more")
        part = data.subset(idx)
        probs[idx] = probabilities(adapted(clf, part.features), part)
    return probs


def _write_evaluation(clf: Classifier, test: LabelledSequences, out: Path | None) -> dict:
    labels = [str(c) for c in clf.classes_.tolist()]
    index = {label: k for k, label in enumerate(labels)}
    # (N, C); a model trained on one group per batch is evaluated as it is meant to be used
    probs = _adapted_by_group(clf, test) if getattr(clf, "group_batches", False) else probabilities(clf, test)
    y_test = [index[label] for label in test.labels]
    metrics = classification_metrics(y_test, probs.argmax(axis=1).tolist(), labels)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        save_json(out / "metrics.json", metrics)
        plot_confusion(metrics["confusion_matrix"], labels, out / "confusion.png",
                       title=f"accuracy {metrics['accuracy']:.3f} (n={metrics['n_test']})")
    return metrics


# ------------------------------------------------------------ evaluate/predict
def audio_of(info: dict) -> AudioConfig | None:
    audio = (info.get("input") or {}).get("audio")
    return AudioConfig.from_saved(audio) if audio else None


def evaluate_classifier(model_dir: str | Path, test_path: str | Path, out: str | Path | None = None,
                        label_pattern: str | None = None, group_pattern: str | None = None) -> dict:
    """Metrics of a trained classifier on a labelled ``.ts`` file or WAV folder."""
    clf = _load(model_dir)
    info = clf.info_
    audio = audio_of(info)
    test = load_labelled(test_path, audio or AudioConfig(), label_pattern, group_pattern,
                         keep_signals=audio is not None and audio.tta > 0)
    _check_compatible(test, (info.get("input") or {}).get("kind", "ts"), clf.n_features_in_, str(test_path))
    _check_labels(test, [str(c) for c in clf.classes_.tolist()])
    return _write_evaluation(clf, test, None if out is None else Path(out))


def predict_classifier(model_dir: str | Path, inputs: Sequence[str | Path], adapt: bool = False,
                       warn: Callable[[str], None] | None = None) -> list[tuple[str, str, float]]:
    """(input, predicted label, its probability) for each WAV file or ``.ts`` case; ``adapt``:
    by a copy of the model adapted to all these inputs first (:func:`.adapt.adapted`)."""
    clf = _load(model_dir)
    info = clf.info_
    audio = audio_of(info)
    data = load_unlabelled(inputs, audio, keep_signals=audio is not None and audio.tta > 0)
    _check_compatible(data, (info.get("input") or {}).get("kind", "ts"), clf.n_features_in_, "the input")
    if not adapt and warn is not None:  # once the inputs are known to be predictable
        unadapted_hint(clf, model_dir, warn)
    probs = probabilities(adapted(clf, data.features) if adapt else clf, data)  # (N, C)
    best = probs.argmax(axis=1)
    return [(name, str(clf.classes_[k]), float(probs[i, k])) for i, (name, k) in enumerate(zip(data.names, best))]


def metrics_text(metrics: dict) -> str:
    """A JSON rendering of the metrics (what ``rnnkit classify evaluate`` prints)."""
    return json.dumps({k: metrics[k] for k in ("accuracy", "n_test", "per_class", "macro_f1")}, indent=2)

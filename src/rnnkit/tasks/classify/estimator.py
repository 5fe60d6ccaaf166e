"""`Classifier`: sequence classification as a scikit-learn estimator.

    >>> clf = Classifier().fit(X_train, y_train)   # X: (n, channels, length) or a list of (T_i, C)
    >>> clf.predict(X_test)                         # labels, of y's type
    >>> clf.predict_proba(X_test)                   # (n, K), columns in clf.classes_ order
    >>> clf.score(X_test, y_test)                   # accuracy
    >>> clf.save("model"); Classifier.load("model")

Conventions (scikit-learn's): constructor arguments are stored as given and checked in
``fit``; ``get_params``/``set_params``/``clone`` work; fitted attributes end in ``_``
(``classes_``, ``n_features_in_`` = channels, ``network_``, ``normalizer_``, ``history_``,
``n_steps_``, ``best_epoch_``, ``stopped_reason_``, ``chance_level_``). Labels may be of
any type ``numpy.unique`` sorts (strings, integers, ...).

fit, in order (the mechanics are in :mod:`.fitting`, the input checks and normalisation
in :mod:`.arrays`):

1. checks X and y (one-line :class:`~rnnkit.errors.DataError` otherwise);
2. holds out a stratified ``validation_fraction`` of the series (seeded by ``random_state``);
3. fits the normalisation (``normalize``) on the training part;
4. builds the network ``model`` through :func:`rnnkit.models.networks.build_network`
   with the architecture arguments it takes (``cell``, ``hidden_size``, ...);
5. trains with the shared :class:`~rnnkit.training.Trainer` for
   ``clip(ceil(epochs * n_train / batch_size), min_steps, max_steps)`` optimizer steps
   (Adam, cosine schedule, gradient clipping), validating every epoch; training stops
   after ``patience`` steps without a better validation loss and the best epoch's
   weights are kept (without a validation set: the epoch of the lowest training loss);
   with ``weight_average`` (default "ema", :mod:`rnnkit.models.averaging`; RESULTS_classify.md,
   "Eleventh pass") the average at the end of training is kept instead;
6. warns (:class:`~.fitting.ChanceLevelWarning`, one line) if the final training loss is
   still at the chance level.

``members`` > 1 trains networks together, predicting the mean of their probabilities; "auto",
the default: two where the fit is small, else one (:func:`.fitting.members_for`, which says why).

``partner="trees"`` (the default) mixes in ExtraTrees on quantile features, ``p = w p_net +
(1 - w) p_trees``, w chosen inside ``fit`` on held-out series (:mod:`.partner`). ``crop`` < 1
is window slicing (:mod:`.crops`): random windows in training, the mean over evenly spaced
ones at prediction. ``group_batches=True``: one group of ``fit(X, y, groups)`` per training
batch, for models to be adapted to a new group at prediction (:mod:`.batches`, :mod:`.adapt`).
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from rnnkit.data.sequences import SequenceDataset, collate_packed
from rnnkit.errors import DataError
from rnnkit.models.networks import network_options
from rnnkit.models.registry import build_model, tagged
from rnnkit.tasks.classify.arrays import Normalizer, as_labels, as_sequences, encode_labels
from rnnkit.tasks.classify.batches import check_groups, train_loader
from rnnkit.tasks.classify.crops import MIN_LENGTH, is_cropped, random_crop, windowed_proba
from rnnkit.tasks.classify.fitting import (BestOnAccuracy, EpochRng, WeightAverage, capacity, chance_loss,
                                           check_chance_level, members_for, step_budget, stratified_split)
from rnnkit.tasks.classify.params import NETWORK_ARGS, check_network_params, check_params, seed_of
from rnnkit.tasks.classify.partner import fit_partner, partner_spec, quantile_features, second_beside, tree_view
from rnnkit.tasks.classify.persist import json_params, load_classifier, save_classifier
from rnnkit.training.config import TrainConfig
from rnnkit.training.device import torch_threads
from rnnkit.training.trainer import Trainer

__all__ = ["Classifier"]


class Classifier(ClassifierMixin, BaseEstimator):
    """Classifies time series (any lengths, one or more channels) with a recurrent network.

    Architecture: ``model`` names the network (:data:`rnnkit.models.networks.NETWORKS`);
    ``filters``, ``kernels``, ``dilations`` (sequences of ints, one per convolution block;
    None: the network's own; ``dilations`` defaults to (1, 4, 16), a 55-step receptive field
    with the hybrid's kernels (7, 5, 3)) go to its convolutions (:mod:`rnnkit.models.lstm_fcn`);
    ``filters="auto"`` (the default) is (128, 256, 128) for a set of at least 128 series and
    the network's own (64, 128, 64) below (:func:`.fitting.capacity`; fitted: ``filters_``);
    ``conv_steps``, ``rnn_steps``: the hybrid's input resolution, at most that many window
    means of a series reach its convolutions / its recurrent branch (512 / 64); ``summary``:
    the hybrid's order-free branch, K quantiles of each channel's values and first differences
    (0: none; :mod:`rnnkit.models.summary`);
    ``cell``, ``hidden_size``, ``num_layers``, ``bidirectional``, ``pooling``, ``dropout``,
    ``members``, ``deltas``, ``label_smoothing``, ``backend``, ``input_norm``, ``weight_average``,
    ``average_decay`` go to it (see :class:`rnnkit.models.classifier.SequenceClassifier`;
    averaging: :mod:`rnnkit.models.averaging`); one set away from its default that the
    network does not take is a one-line ConfigError (:func:`.params.check_network_params`).
    Input: ``normalize`` is "auto", "series", "channel" or "none" (:mod:`.arrays`).
    Budget: ``epochs`` (passes over the training part; "auto", the default: 100 for a set of
    at least 128 series, 50 below; fitted: ``epochs_``), ``min_steps``, ``max_steps``;
    ``work_budget`` (None: off; time steps of series to read in training: more optimizer steps
    where one is cheap, i.e. few or short series, see :func:`.fitting.step_budget`);
    ``batch_size``, ``lr``, ``weight_decay``, ``grad_clip``.
    Validation: ``validation_fraction`` (stratified; 0: none), ``early_stopping`` ("loss":
    the best epoch has the lowest validation loss; "accuracy": the highest validation
    accuracy, ties to the lower loss), ``patience`` (optimizer steps without a better
    epoch before stopping; None: never stop early).
    Partner: ``partner`` ("trees", the default, or None: the network alone; :mod:`.partner`;
    fitted: ``partner_``, ``partner_weight_``, ``partner_losses_``, ``partner_source_``),
    ``partner_fraction`` (held out to choose the weight without a validation split; 0.25),
    ``partner_ensemble`` (True: the second network, fitted on the rest to choose the weight, is
    kept, and predictions average the two networks; fitted: ``partner_network_``).
    Other: ``class_weight`` (None or "balanced"), ``jitter`` (Gaussian noise added to the
    normalised training series, in units of each channel's std; 0: none), ``crop`` (window
    slicing: the fraction of each series' length a training draw keeps, in (0, 1]; 1: none;
    default 0.9; see :mod:`.crops`), ``crop_min_length`` (series shorter than this many steps,
    default 64, are never sliced), ``average_start``
    (fraction of the epochs before weight averaging starts), ``random_state`` (int),
    ``device``, ``threads`` (torch CPU threads of each network's fit and of predicting;
    default 1), ``n_jobs`` (network fits at once; -1, the default: with 2 CPUs the partner's
    second network is fitted in a child process beside the first, the same bits as one after
    the other, :mod:`.side`; None or 1: one after the other), ``verbose``, ``group_batches``
    (True: each training batch holds one group of ``fit``'s ``groups``; :mod:`.batches`).
    """

    def __init__(self, model: str = "lstm_fcn", filters: Optional[tuple | str] = "auto", kernels: Optional[tuple] = None,
                 dilations: Optional[tuple] = (1, 4, 16), conv_steps: int = 512, rnn_steps: int = 64, cell: str = "lstm", hidden_size: int = 64, num_layers: int = 2,
                 bidirectional: bool = True, pooling: str = "last", dropout: float = 0.1, members: int | str = "auto",
                 deltas: bool = False, label_smoothing: float = 0.0, backend: str = "auto",
                 weight_average: str = "ema", average_decay: float = 0.99, average_start: float = 0.75,
                 normalize: str = "auto", epochs: float | str = "auto", min_steps: int = 200, max_steps: int = 2000,
                 batch_size: int = 32, lr: float = 3e-3, weight_decay: float = 0.0, grad_clip: float = 1.0,
                 validation_fraction: float = 0.0, patience: Optional[int] = 300, early_stopping: str = "loss",
                 class_weight: Optional[str] = None, jitter: float = 0.0, crop: float = 0.9,
                 crop_min_length: int = MIN_LENGTH, work_budget: Optional[float] = None, random_state: Optional[int] = 0,
                 device: str = "auto", threads: Optional[int] = 1, verbose: bool = False, summary: int = 0,
                 summary_member: bool = False, pooling_conv: str = "mean", partner: Optional[str] = "trees",
                 partner_fraction: float = 0.25, partner_ensemble: bool = False, n_jobs: Optional[int] = -1,
                 group_batches: bool = False, input_norm: bool | str | list[str] = False) -> None:
        self.model = model
        self.filters = filters
        self.kernels = kernels
        self.dilations = dilations
        self.conv_steps = conv_steps
        self.rnn_steps = rnn_steps
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.dropout = dropout
        self.members = members
        self.deltas = deltas
        self.label_smoothing = label_smoothing
        self.backend = backend
        self.weight_average = weight_average
        self.average_decay = average_decay
        self.average_start = average_start
        self.normalize = normalize
        self.epochs = epochs
        self.min_steps = min_steps
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.early_stopping = early_stopping
        self.class_weight = class_weight
        self.jitter = jitter
        self.crop = crop
        self.crop_min_length = crop_min_length
        self.work_budget = work_budget
        self.random_state = random_state
        self.device = device
        self.threads = threads
        self.verbose = verbose
        self.summary = summary
        self.summary_member = summary_member
        self.pooling_conv = pooling_conv
        self.partner = partner
        self.partner_fraction = partner_fraction
        self.partner_ensemble = partner_ensemble
        self.n_jobs = n_jobs
        self.group_batches = group_batches
        self.input_norm = input_norm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True    # (n, length): univariate series, one per row, as aeon reads it
        tags.input_tags.three_d_array = True  # (n, channels, length)
        tags.non_deterministic = self.device != "cpu"
        return tags

    # ------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any, groups: Any = None) -> "Classifier":
        """Train on series ``X`` (see :mod:`.arrays`) with labels ``y``; ``groups``: the group of
        each series, used with ``group_batches`` only; returns self."""
        return self._fit(X, y, groups=groups)

    def _train_config(self, n_train: int, has_val: bool, seed: int, checkpoint: bool, steps: int,
                      batch: int) -> TrainConfig:
        """The estimator's budget: ``steps`` optimizer steps, as :func:`.fitting.step_budget` gave them."""
        per_epoch = math.ceil(n_train / batch)
        patience = math.ceil(self.patience / per_epoch) if self.patience is not None and has_val else None
        return TrainConfig(epochs=math.ceil(steps / per_epoch), max_steps=steps, batch_size=self.batch_size,
                           lr=self.lr, weight_decay=self.weight_decay, grad_clip=self.grad_clip,
                           scheduler="cosine", patience=patience, seed=seed, device=self.device,
                           threads=self.threads, progress=bool(self.verbose), checkpoint=checkpoint)

    def _fit(self, X: Any, y: Any, *, validation: tuple[Any, Any] | None = None, classes: Any = None,
             train_config: TrainConfig | None = None, run_dir: str | Path | None = None, resume: bool = False,
             run_config: dict | None = None, features: Callable[[int, np.random.Generator], np.ndarray] | None = None,
             input_info: dict | None = None, groups: Any = None) -> "Classifier":
        """fit, with what ``rnnkit classify train`` adds: an explicit ``validation`` set
        (X_val, y_val), the label order ``classes``, a full ``train_config`` (instead of the
        budget arguments), the trainer's ``run_dir`` (checkpoints, metrics.csv; ``resume``
        from it), and ``features(i, rng)``: fresh raw features of training series i
        (augmentation), drawn each epoch from a generator re-seeded per epoch."""
        check_params(self)
        check_network_params(self)
        seed = seed_of(self.random_state)
        seqs = as_sequences(X)
        labels = as_labels(y, len(seqs))
        groups = check_groups(self, groups, len(seqs))
        present = np.unique(labels)
        if len(present) < 2:
            raise DataError(f"y holds one class only ({present.tolist()[0]!r}); a classifier needs at least 2 classes")
        classes_ = present if classes is None else np.asarray(classes)
        index = {label: k for k, label in enumerate(classes_.tolist())}
        targets = encode_labels(labels, index, "y")
        if validation is not None:
            train_idx = np.arange(len(seqs))
            val_seqs = as_sequences(validation[0], seqs[0].shape[1], "X_val") if len(validation[0]) else []
            val_targets = (encode_labels(as_labels(validation[1], len(val_seqs), "y_val"), index, "y_val")
                           if val_seqs else [])
        else:
            train_idx, val_idx = stratified_split(targets, self.validation_fraction, seed)
            val_seqs, val_targets = [seqs[i] for i in val_idx], targets[val_idx]
        train_seqs, train_targets = [seqs[i] for i in train_idx], targets[train_idx]
        train_groups = None if groups is None else groups[train_idx]
        batch = self.batch_size if groups is None else max(1, round(len(train_seqs) / len(set(train_groups))))
        if features is not None and validation is None:  # dataset index -> index into X
            raw_features = features
            features = lambda i, rng: raw_features(int(train_idx[i]), rng)  # noqa: E731

        normalizer = Normalizer.fit(self.normalize, train_seqs)
        filters, epochs = capacity(len(seqs), self.filters, self.epochs)  # "auto": by the set's size
        mean_length = float(np.mean([len(s) for s in train_seqs]))
        steps = step_budget(len(train_seqs), batch, epochs, self.min_steps, self.max_steps,
                            self.work_budget, mean_length)
        offered = {name: getattr(self, name) for name in NETWORK_ARGS}
        offered["filters"] = filters
        offered["members"] = members_for(self.members, steps, min(batch, len(train_seqs)), mean_length, self.input_norm)
        offered = {k: v for k, v in offered.items() if v is not None or k not in ("filters", "kernels", "dilations")}
        if normalizer.mode == "channel" and network_options(self.model, {"input_mean": 0, "input_std": 0}):
            offered.update(input_mean=normalizer.mean, input_std=normalizer.std)  # applied by the network
            normalizer.in_network = True
        train_norm, val_norm = normalizer(train_seqs), normalizer(val_seqs) if len(val_seqs) else []
        n_classes = len(classes_)
        balanced = self.class_weight == "balanced"
        if balanced:
            counts = np.bincount(train_targets, minlength=n_classes)
            offered["class_weights"] = [len(train_targets) / (n_classes * c) if c else 1.0 for c in counts]
        elif isinstance(self.class_weight, dict):  # label -> weight; classes not named weigh 1
            offered["class_weights"] = [float(self.class_weight.get(label, 1.0)) for label in classes_.tolist()]
        options = {"input_size": int(seqs[0].shape[1]), "num_classes": n_classes,
                   **network_options(self.model, offered)}
        info = {"network": self.model, "model": options, "labels": classes_.tolist(),
                "labels_dtype": str(classes_.dtype),
                "input": {**(input_info or {"kind": "array"}), "n_features": int(seqs[0].shape[1]),
                          "normalize": normalizer.to_dict()},
                "estimator": json_params(self.get_params())}
        info = tagged("classify", info)
        cfg = train_config or self._train_config(len(train_seqs), len(val_seqs) > 0, seed, run_dir is not None, steps,
                                                 batch)
        # side: the partner's second network, fitted beside this one in a child process (n_jobs), or None
        with second_beside(self, seqs, labels, targets, classes_, val_seqs, seed, filters, epochs) as side, \
                torch_threads(cfg.threads):
            torch.manual_seed(cfg.seed)
            network = build_model(info)
            result, steps = self._train(network, info, cfg, train_norm, train_targets, val_norm, val_targets,
                                        normalizer, features, run_dir, resume, run_config, train_groups)
        self.classes_ = classes_
        self.n_features_in_ = int(seqs[0].shape[1])
        self.network_ = network.cpu().eval()
        self.normalizer_ = normalizer
        self.info_ = info
        self.filters_ = tuple(options.get("filters") or ()) or None  # None: the network has none / its own
        self.epochs_ = epochs if train_config is None else float(cfg.epochs)
        self.history_ = list(result.history)
        self.n_steps_ = steps
        self.best_epoch_ = result.best_epoch
        self.stopped_reason_ = result.stopped_reason
        self.train_seconds_ = result.seconds
        last = self.history_[-1]["train_loss"] / max(1, int(options.get("members", 1))) if self.history_ else math.nan
        self.chance_level_ = check_chance_level(last, chance_loss(train_targets, n_classes, balanced), n_classes,
                                                steps)
        self.partner_, self.partner_weight_, self.partner_network_ = None, 1.0, None
        if self.partner is not None:  # after the network: its fit is the one without a partner
            fit_partner(self, seqs, labels, targets, train_idx, val_seqs, val_targets, seed, filters, epochs, side)
            self.info_ = {**info, "partner": partner_spec(self)}
        return self

    def _train(self, network, info, cfg, train_norm, train_targets, val_norm, val_targets, normalizer,
               features, run_dir, resume, run_config, train_groups):
        noise = EpochRng(cfg.seed)
        scale = np.float32(self.jitter)
        crop, min_length = float(self.crop), int(self.crop_min_length)

        def fresh(i: int) -> np.ndarray:
            """Training series i as augmented this epoch: new raw features, a window, then jitter."""
            x = features(i, noise.rng) if features is not None else train_norm[i]  # (T, C)
            x, soft = x if isinstance(x, tuple) else (x, None)  # soft: a (K,) target (mixup)
            x = normalizer([x])[0] if features is not None else x
            if is_cropped(len(x), crop, min_length):
                x = random_crop(x, crop, noise.rng)  # (L, C)
            if scale > 0:
                x = x + scale * noise.rng.standard_normal(x.shape, dtype=np.float32)
            return x if soft is None else (x, soft)

        # no series long enough to slice (and no other augmentation): the very fit of crop = 1
        cropping = any(is_cropped(len(s), crop, min_length) for s in train_norm)
        augmenting = features is not None or self.jitter > 0 or cropping
        train_ds = SequenceDataset(train_norm, train_targets.tolist(), transform=fresh if augmenting else None)
        loader, by_group = train_loader(train_ds, cfg.batch_size, cfg.seed, train_groups)
        val_loader = None
        if len(val_norm):
            val_ds = SequenceDataset(val_norm, list(val_targets))
            val_loader = torch.utils.data.DataLoader(val_ds, batch_size=cfg.batch_size, collate_fn=collate_packed)
        callbacks: list = [noise] + ([by_group] if by_group is not None else [])
        averaging = getattr(network, "weight_average", "none") != "none"
        if averaging:
            callbacks.append(WeightAverage(network, int(self.average_start * cfg.epochs)))
        on_accuracy = None
        if self.early_stopping == "accuracy" and val_loader is not None:  # the callback stops, not the trainer
            on_accuracy = BestOnAccuracy(network, val_loader, cfg.patience)
            callbacks.append(on_accuracy)
            cfg = dataclasses.replace(cfg, patience=None)
        trainer = Trainer(network, cfg, run_dir=run_dir, model_config=info, callbacks=callbacks,
                          run_config=run_config)
        result = trainer.fit(loader, val_loader, resume=resume)
        if averaging and int(network.average.count) > 0:  # the average at the end replaces the best epoch
            network.use_average()
        elif on_accuracy is not None:
            on_accuracy.restore()
            result.best_epoch = on_accuracy.best_epoch
        else:
            trainer.load_best()
        return result, trainer.step

    # --------------------------------------------------------------- predict
    def predict_proba(self, X: Any, batch_size: int = 64) -> np.ndarray:
        """Class probabilities (n, K), float64, columns in ``classes_`` order, rows sum to 1
        (with ``crop`` < 1: the mean over the evenly spaced windows of each series of at least
        ``crop_min_length`` steps; with a tree partner: ``w p_net + (1 - w) p_trees``,
        ``w = partner_weight_``, the network's alone when w = 1; with a second network kept,
        ``partner_ensemble``, p_net is the mean of the two networks' probabilities)."""
        p_net, p_trees = self._component_proba(X, batch_size)
        if p_trees is None or self.partner_weight_ == 1.0:
            return p_net
        w = float(self.partner_weight_)
        mix = w * p_net + (1.0 - w) * p_trees
        return mix / mix.sum(axis=1, keepdims=True)

    def _component_proba(self, X: Any, batch_size: int = 64, each: bool = False) -> tuple[Any, np.ndarray | None]:
        """(p_net, p_trees), both (n, K): the networks' probabilities (their mean; ``each``:
        the list, the first network's first) and the trees' (None without a partner); what
        ``predict_proba`` mixes (the benchmark scores each alone)."""
        check_is_fitted(self, "network_")
        raw = as_sequences(X, self.n_features_in_)
        nets = [self._net_proba(raw, batch_size)]
        second = getattr(self, "partner_network_", None)
        if second is not None:
            nets.append(self._net_proba(raw, batch_size, second, self.partner_normalizer_))
        p_net = nets if each else nets[0] if len(nets) == 1 else (nets[0] + nets[1]) / 2
        forest = getattr(self, "partner_", None)
        if forest is None:
            return p_net, None
        view = tree_view(self.normalizer_)
        return p_net, forest.predict_proba(quantile_features(view(raw), self.partner_levels_))

    def _net_proba(self, raw: list[np.ndarray], batch_size: int = 64, network=None, normalizer=None) -> np.ndarray:
        """A network's probabilities (n, K) for checked, not yet normalised series (T_i, C):
        ``network_`` with ``normalizer_`` unless given (:func:`.crops.windowed_proba`)."""
        seqs = (self.normalizer_ if normalizer is None else normalizer)(raw)
        net = (self.network_ if network is None else network).eval()
        with torch_threads(self.threads):
            return windowed_proba(net, seqs, float(getattr(self, "crop", 1.0)),
                                  int(getattr(self, "crop_min_length", 1)), batch_size)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each series, as ``classes_`` holds it."""
        check_is_fitted(self, "network_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # ------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> None:
        """Write ``model.safetensors`` and ``model.json`` (and the partner's
        ``partner.safetensors``) into folder ``path`` atomically; no pickle (:mod:`.persist`)."""
        save_classifier(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "Classifier":
        """The classifier saved in ``path`` (a model folder, or a run folder holding ``model/``)."""
        return load_classifier(cls, path)

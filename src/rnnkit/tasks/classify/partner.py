"""A non-neural partner for :class:`~rnnkit.tasks.classify.Classifier` (``partner="trees"``):
extremely randomised trees on order-free features of each series, mixed with the network.

Features (:func:`quantile_features`), per channel c of a series x (T its own length, after
the estimator's normalisation), with K = :data:`LEVELS` levels q_k = k / (K - 1)::

    Q_x[c, k] = quantile_{q_k}({x_t,c : t < T})                    (C, K)
    Q_d[c, k] = quantile_{q_k}({x_{t+1},c - x_t,c : t < T - 1})    (C, K)   (0 when T = 1)
    f(x)      = [Q_x ; Q_d] flattened                              (2 C K,)

computed by :func:`rnnkit.models.summary.masked_quantiles` (numpy's linear method) in float64
over each series' own steps (padding never enters). They see the distribution of a series'
levels and jumps and ignore the order of its steps: where the network's convolutions see
shapes, these see what an appliance's power levels or a leaf outline's curvature spread is.

Classifier: scikit-learn's ``ExtraTreesClassifier`` with :data:`N_TREES` trees, default
settings otherwise (``max_features="sqrt"``, fully grown), seeded by the estimator's seed.
After fitting, the forest is kept as flat arrays (:class:`Forest`) and predicted by walking
them, so a fitted and a loaded model give the same bits and the saved form is plain
tensors in a safetensors file (no pickle); the walk reproduces scikit-learn's
``predict_proba`` (features cast to float32 as scikit-learn's trees do, the trees' class
fractions summed in order and divided by the tree count).

Mixing: ``p = w * p_net + (1 - w) * p_trees``, with w from :data:`W_GRID` = 0.5, 0.6, ..., 1
chosen by :func:`choose_weight` (lowest held-out log-loss, ties toward the network).
:func:`fit_partner` gets the held-out probabilities after the network's fit: with a
validation split (``validation_fraction`` > 0 or the CLI's validation file) from the
network's own held-out series, scored by the trained network and by trees fitted on the
fitting part; without one (the default, ``validation_fraction=0``, chosen because holding
series out of the network's training cost accuracy on small sets) from a second network,
the same recipe (capacity resolved from the whole set), fitted on a stratified
``1 - partner_fraction`` of the series, it and the trees scored on the rest. The network
kept is the one fitted on every series, exactly the fit without a partner (so training
takes up to about twice as long). The trees are then refitted on every series passed to
``fit`` (cheap; out-of-bag probabilities would score trees but not the network on the
same series). With ``partner_ensemble=True`` that second network is not thrown away
after choosing w: the network part of every prediction is the mean of the two networks'
probabilities, ``p_net = (p_full + p_held) / 2`` (w is still the one chosen from the second
network's held-out predictions against the trees'). No series to hold out (``partner_fraction`` 0, or every class a single
series): w = 1, the network alone. The network keeps at least half the weight: without a validation split the held-out scores come
from a second network fitted on 75 % of the series, which on a small set is weaker than the
network kept (fitted on all of them), so the held-out log-loss leans toward the trees; on
PickupGestureWiimoteZ (30 series of 10 classes) the full grid 0..1 chose trees alone (w = 0)
once and lost 6 of 20 validation series to the network alone, where w >= 0.5 lost none
(benchmarks/RESULTS_classify.md, "Seventh pass").
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from rnnkit.errors import CheckpointError
from rnnkit.models.summary import masked_quantiles

__all__ = ["LEVELS", "N_TREES", "W_GRID", "PARTNERS", "PARTNER_FILE", "quantile_features", "Forest",
           "fit_forest", "choose_weight", "log_loss", "tree_view", "second_network", "start_second", "partner_spec", "second_beside",
           "fit_partner",
           "load_partner"]

LEVELS = 21        # quantile levels per channel, for values and for first differences
N_TREES = 300      # ExtraTrees size: fixed, not tuned
W_GRID = tuple(k / 10 for k in range(5, 11))  # the network's weight: 0.5, 0.6, ..., 1
PARTNERS = ("trees",)
PARTNER_FILE = "partner.safetensors"
_CHUNK = 2 ** 22   # padded numbers per batch of series in quantile_features


def quantile_features(seqs: Sequence[np.ndarray], levels: int = LEVELS) -> np.ndarray:
    """n series (T_i, C) -> (n, 2 C K) float64: K quantiles of each channel's values, then K of
    its first differences (see the module docstring), channel-major: [Q_x[0], ..., Q_x[C-1],
    Q_d[0], ..., Q_d[C-1]]."""
    lv = torch.arange(levels, dtype=torch.float64) / (levels - 1)  # (K,)
    out, start = [], 0
    while start < len(seqs):  # chunks of series, so a long set never pads into one huge array
        longest, stop = 0, start
        while stop < len(seqs) and (stop == start or max(longest, len(seqs[stop])) * (stop - start + 1)
                                    * seqs[stop].shape[1] <= _CHUNK):
            longest = max(longest, len(seqs[stop]))
            stop += 1
        part = seqs[start:stop]
        C = part[0].shape[1]
        x = torch.zeros(len(part), longest, C, dtype=torch.float64)  # (B, T, C), zeros padded
        for b, s in enumerate(part):
            x[b, :len(s)] = torch.from_numpy(np.asarray(s, dtype=np.float64))
        lengths = torch.tensor([len(s) for s in part])                            # (B,)
        q_x = masked_quantiles(x, lengths, lv)                                    # (B, C, K)
        if longest > 1:
            d = x[:, 1:] - x[:, :-1]                                              # (B, T-1, C)
            q_d = masked_quantiles(d, (lengths - 1).clamp_min(1), lv)            # (B, C, K)
            q_d = q_d * (lengths > 1).to(torch.float64)[:, None, None]            # T = 1: 0
        else:
            q_d = torch.zeros_like(q_x)
        out.append(torch.cat([q_x, q_d], dim=1).reshape(len(part), -1).numpy())  # (B, 2CK)
        start = stop
    return np.concatenate(out, axis=0)


def log_loss(p: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-probability of the true classes, probabilities floored at 1e-15."""
    picked = p[np.arange(len(targets)), np.asarray(targets)]
    return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))


def choose_weight(p_net: np.ndarray, p_trees: np.ndarray, targets: np.ndarray) -> tuple[float, list[float]]:
    """(w, losses): the w in :data:`W_GRID` whose mix ``w p_net + (1 - w) p_trees`` has the
    lowest log-loss on these held-out series; among equal losses (within 1e-12) the largest
    w (toward the network). ``losses``: the log-loss of each grid point."""
    losses = [log_loss(w * p_net + (1 - w) * p_trees, targets) for w in W_GRID]
    best = min(losses)
    w = max(w for w, loss in zip(W_GRID, losses) if loss <= best + 1e-12)
    return float(w), losses


@dataclass
class Forest:
    """A fitted forest as flat arrays over the nodes of all its trees (N nodes, K classes).

    ``left``/``right`` (N,) int64: a node's children (global indices; -1 at a leaf);
    ``feature`` (N,) int64, ``threshold`` (N,) float64: go left when x[feature] <= threshold;
    ``value`` (N, K) float64: class fractions at the node; ``roots`` (n_trees,) int64.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    n_features: int

    def predict_proba(self, F: np.ndarray) -> np.ndarray:
        """F (n, n_features) -> (n, K) float64: the mean of the trees' class fractions."""
        X = np.asarray(F, dtype=np.float32)  # scikit-learn's trees compare float32 features
        rows = np.arange(len(X))[:, None]
        node = np.broadcast_to(self.roots[None, :], (len(X), len(self.roots))).copy()  # (n, n_trees)
        inner = self.left[node] >= 0
        while inner.any():
            f = self.feature[node]
            go_left = X[rows, np.maximum(f, 0)] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
            inner = self.left[node] >= 0
        proba = np.zeros((len(X), self.value.shape[1]))
        for t in range(len(self.roots)):  # in order, as scikit-learn accumulates
            proba += self.value[node[:, t]]
        return proba / len(self.roots)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {"left": torch.from_numpy(self.left), "right": torch.from_numpy(self.right),
                "feature": torch.from_numpy(self.feature), "threshold": torch.from_numpy(self.threshold),
                "value": torch.from_numpy(self.value), "roots": torch.from_numpy(self.roots)}

    @classmethod
    def from_tensors(cls, t: dict[str, torch.Tensor], n_features: int, n_classes: int, where: str) -> "Forest":
        """The forest in tensors ``t`` (as :meth:`to_tensors` writes them), checked so that a
        tampered file gives a one-line CheckpointError and a walk always ends: every child index
        is above its parent's (scikit-learn numbers nodes depth first), inside the same tree."""
        want = {"left": torch.int64, "right": torch.int64, "feature": torch.int64, "threshold": torch.float64,
                "value": torch.float64, "roots": torch.int64}
        if set(t) != set(want):
            raise CheckpointError(f"{where}: expected tensors {sorted(want)}, found {sorted(t)}")
        for name, dtype in want.items():
            if t[name].dtype != dtype:
                raise CheckpointError(f"{where}: tensor {name!r} has dtype {t[name].dtype}, expected {dtype}")
        a = {name: t[name].numpy().copy() for name in want}
        N = len(a["left"])
        if any(a[n].shape != (N,) for n in ("left", "right", "feature", "threshold")) \
                or a["value"].shape != (N, n_classes) or a["roots"].ndim != 1 or len(a["roots"]) == 0:
            raise CheckpointError(f"{where}: node arrays of inconsistent shapes for {n_classes} classes")
        roots = a["roots"]
        if roots[0] != 0 or np.any(np.diff(roots) <= 0) or roots[-1] >= N:
            raise CheckpointError(f"{where}: tree roots must start at 0 and increase inside {N} nodes")
        end = np.append(roots[1:], N)[np.searchsorted(roots, np.arange(N), side="right") - 1]  # (N,) tree end
        idx = np.arange(N)
        inner = a["left"] >= 0
        for child in ("left", "right"):
            c = a[child]
            if np.any(inner & ((c <= idx) | (c >= end))) or np.any(~inner & (c != -1)):
                raise CheckpointError(f"{where}: tensor {child!r} links a node outside its tree or backwards")
        if np.any(inner & ((a["feature"] < 0) | (a["feature"] >= n_features))):
            raise CheckpointError(f"{where}: a split reads a feature outside 0..{n_features - 1}")
        if np.any(a["value"] < 0):
            raise CheckpointError(f"{where}: negative class fractions")
        return cls(**a, n_features=int(n_features))


def fit_forest(F: np.ndarray, targets: np.ndarray, n_classes: int, seed: int, class_weight=None) -> Forest:
    """ExtraTrees (:data:`N_TREES` trees, seeded) on features F (n, d) and class indices
    ``targets`` (n,) in 0..n_classes-1, returned as a :class:`Forest` over all n_classes;
    ``class_weight``: None, "balanced" or a dict class index -> weight (scikit-learn's)."""
    from sklearn.ensemble import ExtraTreesClassifier

    if isinstance(class_weight, dict):  # only the classes present: scikit-learn refuses others
        class_weight = {k: w for k, w in class_weight.items() if k in set(np.asarray(targets).tolist())}
    forest = ExtraTreesClassifier(n_estimators=N_TREES, random_state=seed % (2 ** 32), n_jobs=1,
                                  class_weight=class_weight)
    forest.fit(np.asarray(F, dtype=np.float32), np.asarray(targets))
    cols = np.asarray(forest.classes_, dtype=np.int64)  # the classes present, sorted
    parts: dict[str, list] = {k: [] for k in ("left", "right", "feature", "threshold", "value")}
    roots, offset = [], 0
    for est in forest.estimators_:
        tree = est.tree_
        n = tree.node_count
        roots.append(offset)
        leaf = tree.children_left == -1
        parts["left"].append(np.where(leaf, -1, tree.children_left + offset))
        parts["right"].append(np.where(leaf, -1, tree.children_right + offset))
        parts["feature"].append(np.where(leaf, 0, tree.feature))
        parts["threshold"].append(np.where(leaf, 0.0, tree.threshold))
        v = tree.value[:, 0, :].astype(np.float64)  # (n, present classes)
        total = v.sum(axis=1, keepdims=True)
        v = v / np.where(total == 0, 1.0, total)  # as DecisionTreeClassifier.predict_proba
        full = np.zeros((n, n_classes))
        full[:, cols] = v
        parts["value"].append(full)
        offset += n
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return Forest(left=cat["left"].astype(np.int64), right=cat["right"].astype(np.int64),
                  feature=cat["feature"].astype(np.int64), threshold=cat["threshold"].astype(np.float64),
                  value=cat["value"], roots=np.asarray(roots, dtype=np.int64), n_features=int(F.shape[1]))



def tree_view(normalizer):
    """The series as the trees see them: the estimator's normalisation, applied here even where
    the network applies the "channel" statistics itself (``in_network``)."""
    return dataclasses.replace(normalizer, in_network=False)


def second_network(est, filters, epochs: float, seed: int):
    """The unfitted second network's estimator: ``est``'s recipe, no partner, the capacity
    (``filters``, ``epochs``) resolved from the whole set."""
    from sklearn.base import clone

    return clone(est).set_params(partner=None, filters=filters, epochs=epochs, random_state=seed)


def start_second(est, seqs: list, labels: np.ndarray, targets: np.ndarray, classes: np.ndarray, seed: int, filters,
                 epochs: float):
    """The second network's fit started in a child process (:class:`.side.SideFit`) when
    ``est.n_jobs`` allows two fits at once and the fit is worth a process (:data:`.side.MIN_WORK`);
    None otherwise (then :func:`fit_partner` fits it after the first, in this process).
    Call only when the partner has no validation split to use. Under ``torchrun`` the
    second network is fitted afterwards, data-parallel like the first: a child process would
    inherit the rank's ``RANK``/``WORLD_SIZE`` and try to join the process group a second time.
    """
    from rnnkit.tasks.classify.fitting import step_budget, stratified_split
    from rnnkit.tasks.classify.side import MIN_WORK, SideFit, jobs_of
    from rnnkit.training.distributed import launched

    if jobs_of(est.n_jobs) < 2 or launched():
        return None
    fit_idx, held_idx = stratified_split(targets, est.partner_fraction, seed)
    if not len(held_idx):
        return None
    aux = second_network(est, filters, epochs, seed)
    part = [seqs[i] for i in fit_idx]
    mean_length = float(np.mean([len(s) for s in part]))
    steps = step_budget(len(part), aux.batch_size, epochs, aux.min_steps, aux.max_steps, aux.work_budget,
                        mean_length)
    if steps * min(aux.batch_size, len(part)) * mean_length < MIN_WORK:
        return None
    return SideFit(aux.get_params(), part, labels[fit_idx], classes)


@contextmanager
def second_beside(est, seqs: list, labels: np.ndarray, targets: np.ndarray, classes: np.ndarray, val_seqs: list,
                  seed: int, filters, epochs: float):
    """Around the first network's fit: yields the second's fit started beside it
    (:func:`start_second`; None without a partner, with a validation split, or when it is
    fitted afterwards), stopped if the first fit fails."""
    side = None
    if est.partner is not None and not len(val_seqs):
        side = start_second(est, seqs, labels, targets, classes, seed, filters, epochs)
    try:
        yield side
    except BaseException:
        if side is not None:
            side.close()
        raise


def fit_partner(est, seqs: list, labels: np.ndarray, targets: np.ndarray, train_idx: np.ndarray,
                val_seqs: list, val_targets, seed: int, filters, epochs: float, side=None) -> None:
    """Fit ``est``'s tree partner after its network (see the Classifier docstring, "partner").

    Sets ``partner_`` (the :class:`Forest` on all of ``seqs``), ``partner_weight_`` (w),
    ``partner_losses_`` (held-out log-loss per :data:`W_GRID` point, or None) and
    ``partner_source_``: "validation" (the network's own held-out series), "held-out fit" (a
    second network fitted on a stratified ``1 - partner_fraction`` of the series, scored on the
    rest) or "none" (no series to hold out: w = 1, the network alone). With
    ``est.partner_ensemble`` and a held-out fit, that second network is kept:
    ``partner_network_`` (its normaliser ``partner_normalizer_``, fitted on its own series;
    model.json's entry ``partner_network_info_``); None otherwise. ``side``: that second fit
    already running in a child process (:func:`start_second`), or None: fitted here.
    """
    from rnnkit.tasks.classify.fitting import stratified_split

    n_classes = len(est.classes_)
    est.partner_network_ = est.partner_normalizer_ = est.partner_network_info_ = None
    view = tree_view(est.normalizer_)
    weights = est.class_weight  # as the network's loss weighs the classes
    if isinstance(weights, dict):
        weights = {k: float(weights.get(label, 1.0)) for k, label in enumerate(est.classes_.tolist())}
    held_seqs, held_targets, fit_idx, p_net = [], None, None, None
    if len(val_seqs):
        fit_idx, held_seqs, held_targets = train_idx, list(val_seqs), np.asarray(val_targets)
        p_net, source = est._net_proba(held_seqs), "validation"
    else:
        fit_idx, held_idx = stratified_split(targets, est.partner_fraction, seed)
        source = "none"
        if len(held_idx):
            if side is not None:
                aux = side.result()
            else:
                aux = second_network(est, filters, epochs, seed)._fit([seqs[i] for i in fit_idx], labels[fit_idx],
                                                                      classes=est.classes_)
            held_seqs, held_targets = [seqs[i] for i in held_idx], targets[held_idx]
            p_net, source = aux._net_proba(held_seqs), "held-out fit"
            if est.partner_ensemble:  # kept: predictions average the two networks
                est.partner_network_, est.partner_normalizer_ = aux.network_, aux.normalizer_
                est.partner_network_info_ = {"model": aux.info_["model"], "normalize": aux.normalizer_.to_dict()}
    weight, losses = 1.0, None
    if p_net is not None:
        fitting = fit_forest(quantile_features(view([seqs[i] for i in fit_idx])), targets[fit_idx], n_classes,
                             seed, weights)
        p_trees = fitting.predict_proba(quantile_features(view(held_seqs)))
        weight, losses = choose_weight(p_net, p_trees, held_targets)
    est.partner_ = fit_forest(quantile_features(view(seqs)), targets, n_classes, seed, weights)
    est.partner_weight_, est.partner_losses_, est.partner_source_ = weight, losses, source
    est.partner_levels_ = LEVELS


def partner_spec(est) -> dict:
    """model.json's ``partner`` table for a fitted ``est``: what :func:`load_partner` reads (and,
    with a second network kept, its ``network`` entry, read by :mod:`.persist`)."""
    spec = {"kind": est.partner, "weight": est.partner_weight_, "levels": est.partner_levels_,
            "n_features": int(est.partner_.n_features)}
    if est.partner_network_ is not None:
        spec["network"] = est.partner_network_info_
    return spec


def load_partner(est, folder, spec: Any, n_classes: int) -> None:
    """Set ``est``'s partner from model.json's ``partner`` table ``spec`` and ``partner.safetensors``
    in ``folder`` (one-line CheckpointError for anything out of place)."""
    from pathlib import Path

    from rnnkit.training.checkpoint import read_finite_safetensors

    where = str(Path(folder) / "model.json")
    if not isinstance(spec, dict) or spec.get("kind") not in PARTNERS:
        raise CheckpointError(f"{where}: 'partner' must be a table with kind one of {PARTNERS}")
    w, levels, n_features = spec.get("weight"), spec.get("levels"), spec.get("n_features")
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
        raise CheckpointError(f"{where}: partner weight must be a number in [0, 1], got {w!r}")
    for name, v in (("levels", levels), ("n_features", n_features)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (2 if name == "levels" else 1):
            raise CheckpointError(f"{where}: partner {name} must be a positive int, got {v!r}")
    if n_features != 2 * est.n_features_in_ * levels:
        raise CheckpointError(f"{where}: partner n_features {n_features} is not 2 x channels x levels")
    path = Path(folder) / PARTNER_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (model.json names a tree partner)")
    est.partner_ = Forest.from_tensors(read_finite_safetensors(path), n_features, n_classes, str(path))
    est.partner_weight_, est.partner_levels_ = float(w), int(levels)
    est.partner_losses_, est.partner_source_ = None, "loaded"

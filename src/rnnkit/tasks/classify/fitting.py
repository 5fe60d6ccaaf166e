"""Training mechanics of :class:`~rnnkit.tasks.classify.Classifier`: the step budget, the
stratified validation split, and the chance-level check.

Budget: the number of optimizer steps scales with the data,

    steps = clip(ceil(epochs * n_train / batch_size), min_steps, max_steps)

so a set of 30 series still gets ``min_steps`` updates and a large one is capped.

Early stopping on validation accuracy (:class:`BestOnAccuracy`, a trainer callback): after
every epoch the validation accuracy is measured; the best epoch is the most accurate one,
ties going to the lower validation loss; its weights are kept in memory and training
stops after ``patience`` epochs without a better one. (On validation loss the trainer
does this itself.)

Capacity (``filters="auto"``, ``epochs="auto"``, the defaults): a set of at least
:data:`LARGE_SET` series (counted as passed to ``fit``) gets FCN's convolution widths
:data:`LARGE_FILTERS` and :data:`LARGE_EPOCHS` passes; a smaller one the network's own widths
and :data:`SMALL_EPOCHS`. Below 128 series the epoch count hardly matters anyway: with batch
32, ``ceil(50 n / 32)`` stays at the 200-step floor up to n = 128. The threshold sits between
the archive sets where width and steps gained or held on validation splits (OSULeaf's 140 and
JapaneseVowels' 189 fitting series) and those where they lost (25-70 series);
benchmarks/RESULTS_classify.md, "Fifth pass".

Members (``members="auto"``, the default since it won the 5-fold cross-validation of seven
archive sets' training files, 81 errors against one network's 90, after losing on their 30 %
validation splits; benchmarks/RESULTS_classify.md, "Tenth pass" and "Thirteenth pass (archive
sets)"): a fit whose training reads fewer than :data:`SMALL_WORK` time steps of series
(optimizer steps x min(batch, n) x mean length, the deterministic proxy of ``step_budget``'s
``work``) trains :data:`SMALL_MEMBERS` networks together and predicts with the mean of their
probabilities; a larger one trains one. A second member costs about the first's time, and
below that size a fit takes about a minute or less on one core, so the ensemble stays well
inside the five-minute budget while the expensive fits (long series, many series) stay single.

Chance level: a model that learned nothing predicts the class frequencies p_k of the
training labels, and its cross-entropy is their entropy H = -sum_k p_k ln p_k (ln K for
balanced classes, and ln K too under ``class_weight="balanced"``). When the training loss
of the last epoch is still >= ``CHANCE_RATIO`` * H the fit warns in one line.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

__all__ = ["SMALL_WORK", "SMALL_MEMBERS", "members_for", "LARGE_SET", "LARGE_FILTERS", "LARGE_EPOCHS", "SMALL_EPOCHS", "capacity", "EpochRng", "WeightAverage", "BestOnAccuracy", "ChanceLevelWarning", "step_budget", "stratified_split", "chance_loss", "check_chance_level",
           "CHANCE_RATIO"]

CHANCE_RATIO = 0.95
LARGE_SET = 128                   # series, from which "auto" spends the budget on capacity
LARGE_FILTERS = (128, 256, 128)   # FCN's widths (Wang et al. 2017)
LARGE_EPOCHS = 100.0
SMALL_EPOCHS = 50.0
SMALL_WORK = 2_000_000            # time steps read in training below which "auto" trains SMALL_MEMBERS
SMALL_MEMBERS = 2


class ChanceLevelWarning(UserWarning):
    """The training loss stayed at the chance level: the model learned nothing."""


def step_budget(n_train: int, batch_size: int, epochs: float, min_steps: int, max_steps: int,
                work: float | None = None, mean_length: float = 1.0) -> int:
    """Optimizer steps: ``clip(ceil(epochs * n_train / batch_size), min_steps, max_steps)``.

    With a ``work`` budget (time steps of series read in training, a deterministic proxy for
    training time: each optimizer step reads b = min(batch_size, n_train) series of
    ``mean_length`` steps on average), the epoch count is raised where steps are cheap:

        steps = clip(max(ceil(epochs * n / batch_size), ceil(work / (b * mean_length))), min_steps, max_steps)
    """
    steps = math.ceil(epochs * n_train / batch_size)
    if work is not None:
        steps = max(steps, math.ceil(work / (min(batch_size, n_train) * max(mean_length, 1.0))))
    return int(min(max(steps, min_steps), max_steps))


def capacity(n_series: int, filters, epochs) -> tuple[tuple[int, ...] | None, float]:
    """(filters, epochs) for a fit on ``n_series`` series: "auto" is resolved by the size rule
    above (filters None: the network's own widths); any other value is returned as given."""
    large = n_series >= LARGE_SET
    if isinstance(filters, str) and filters == "auto":
        filters = LARGE_FILTERS if large else None
    if isinstance(epochs, str) and epochs == "auto":
        epochs = LARGE_EPOCHS if large else SMALL_EPOCHS
    return (None if filters is None else tuple(int(f) for f in filters)), float(epochs)


def members_for(members, steps: int, batch: int, mean_length: float, input_norm=False) -> int:
    """Ensemble members for a fit of ``steps`` optimizer steps of ``batch`` series of
    ``mean_length`` steps on average: ``members`` itself, or for "auto" one per entry of an
    ``input_norm`` list (the hybrid: one input normalisation per member), else
    :data:`SMALL_MEMBERS` below :data:`SMALL_WORK` time steps read and 1 above (module doc)."""
    if isinstance(members, str) and members == "auto":
        if isinstance(input_norm, (list, tuple)):
            return len(input_norm)
        return SMALL_MEMBERS if steps * batch * max(mean_length, 1.0) < SMALL_WORK else 1
    return int(members)


def stratified_split(targets: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices): ``fraction`` of each class, rounded, at least one,
    drawn at random with ``seed``; a class of one series stays whole in training.
    ``fraction`` 0 gives no validation set."""
    targets = np.asarray(targets)
    if fraction <= 0:
        return np.arange(len(targets)), np.arange(0)
    rng = np.random.default_rng(seed)
    val = []
    for k in np.unique(targets):
        members = np.flatnonzero(targets == k)
        if len(members) < 2:
            continue
        take = min(max(1, int(round(fraction * len(members)))), len(members) - 1)
        val.extend(rng.choice(members, size=take, replace=False).tolist())
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(targets)), val_idx), val_idx


def chance_loss(targets: np.ndarray, n_classes: int, balanced: bool) -> float:
    """Cross-entropy of predicting the class frequencies: their entropy (ln K if balanced)."""
    if balanced:
        return math.log(n_classes)
    p = np.bincount(np.asarray(targets), minlength=n_classes) / len(targets)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def check_chance_level(train_loss: float, chance: float, n_classes: int, steps: int) -> bool:
    """Warn (:class:`ChanceLevelWarning`, one line) when ``train_loss >= CHANCE_RATIO * chance``."""
    if chance <= 0 or not math.isfinite(train_loss) or train_loss < CHANCE_RATIO * chance:
        return False
    warnings.warn(
        f"the training loss stayed at the chance level ({train_loss:.3f} vs {chance:.3f} for "
        f"{n_classes} classes after {steps} optimizer steps): the model learned nothing; try "
        f"more steps (epochs, min_steps), another lr or normalize, or check the labels",
        ChanceLevelWarning, stacklevel=3)
    return True


class EpochRng:
    """A NumPy generator re-seeded from (seed, epoch) when each epoch starts (a callback).

    Augmentation draws from ``.rng``; what epoch e draws depends on nothing before it,
    so a resumed run draws exactly what an uninterrupted one would.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng([seed, 0])

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.rng = np.random.default_rng([self.seed, epoch])


class WeightAverage:
    """Calls ``model.update_average()`` after every optimizer step of epoch > ``after`` (a callback).

    It runs before the epoch's checkpoint is written, so the checkpoint holds the average.
    """

    def __init__(self, model, after: int) -> None:
        self.model, self.after, self.epoch = model, after, 0

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        if self.epoch > self.after:
            self.model.update_average()


class BestOnAccuracy:
    """Keeps the weights of the epoch with the best validation accuracy (ties: lower
    validation loss) and stops after ``patience`` epochs without one (a callback)."""

    def __init__(self, model, val_loader, patience: int | None) -> None:
        self.model, self.val_loader, self.patience = model, val_loader, patience
        self.best: tuple[float, float] = (-1.0, math.inf)  # (accuracy, loss)
        self.best_epoch, self.bad, self.state = 0, 0, None

    @torch.no_grad()
    def accuracy(self, device) -> float:
        was_training = self.model.training
        self.model.eval()
        right = total = 0
        for batch in self.val_loader:
            logits = self.model(batch["x"].to(device))  # (B, K)
            right += int((logits.argmax(dim=-1).cpu() == batch["y"]).sum())
            total += len(batch["y"])
        self.model.train(was_training)
        return right / max(total, 1)

    def on_epoch_end(self, trainer, epoch: int, row: dict) -> None:
        acc = self.accuracy(trainer.device)
        row["val_accuracy"] = acc
        loss = row["val_loss"] if row.get("val_loss") is not None else math.inf
        if acc > self.best[0] or (acc == self.best[0] and loss < self.best[1]):
            self.best, self.best_epoch, self.bad = (acc, loss), epoch, 0
            self.state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.bad += 1
            if self.patience is not None and self.bad >= self.patience:
                trainer.request_stop("early_stopping")

    def restore(self) -> None:
        if self.state is not None:
            self.model.load_state_dict(self.state)

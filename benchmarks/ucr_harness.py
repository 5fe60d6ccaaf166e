"""A minimal fit/predict around :class:`rnnkit.models.lstm_fcn.LSTMFCN` for choosing defaults.

Benchmark-side only: the user-facing object is ``rnnkit.tasks.classify.estimator.Classifier``;
this harness lets bench_classify_ucr.py compare candidate recipes before (and beside) it.
The recipe, every option named in ``Recipe``:

* normalisation: univariate sets are z-normalised per series, multivariate ones
  standardised per channel with the training set's statistics (the model's buffers);
* budget: ``steps`` optimizer steps = clip(epochs * ceil(n / batch), min_steps, max_steps),
  Adam, cosine learning rate from ``lr`` to 0, gradient norm clipped at 1;
* augmentation per batch: Gaussian jitter (``jitter`` of the series' unit scale), a random
  gain per series and channel (``scaling``), and window slicing (a random crop keeping a
  fraction ``slice`` of the steps, uniform in [slice, 1]); prediction sees whole series.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from rnnkit.models.lstm_fcn import LSTMFCN


@dataclass
class Recipe:
    filters: tuple = (64, 128, 64)
    kernels: tuple = (7, 5, 3)
    cell: str = "lstm"
    hidden_size: int = 64
    bidirectional: bool = False
    rnn_pooling: str = "last"
    rnn_steps: int = 64          # rnn_stride = ceil(longest training length / rnn_steps)
    dropout: float = 0.2
    members: int = 1
    batch: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.0
    epochs: int = 100
    min_steps: int = 300
    max_steps: int = 600
    jitter: float = 0.03
    scaling: float = 0.1
    slice: float = 0.9
    label_smoothing: float = 0.0
    extra: dict = field(default_factory=dict)


def _prepare(seqs: list[np.ndarray], univariate: bool) -> list[torch.Tensor]:
    out = []
    for s in seqs:
        t = torch.as_tensor(np.asarray(s, dtype=np.float32))                 # (T, C)
        if univariate:
            t = (t - t.mean()) / t.std(unbiased=False).clamp_min(1e-8)
        out.append(t)
    return out


class HarnessClassifier:
    def __init__(self, random_state: int = 0, **options):
        self.random_state = random_state
        self.recipe = Recipe(**options)

    def fit(self, X: list[np.ndarray], y):
        r = self.recipe
        torch.manual_seed(self.random_state)
        gen = np.random.default_rng(self.random_state)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.univariate = X[0].shape[1] == 1
        seqs = _prepare(X, self.univariate)
        stacked = torch.cat(seqs)                                             # (sum T, C)
        mean = None if self.univariate else stacked.mean(0).tolist()
        std = None if self.univariate else stacked.std(0).tolist()
        longest = max(len(s) for s in seqs)
        self.model = LSTMFCN(seqs[0].shape[1], len(self.classes_), filters=r.filters, kernels=r.kernels,
                             cell=r.cell, hidden_size=r.hidden_size, bidirectional=r.bidirectional,
                             rnn_pooling=r.rnn_pooling, rnn_stride=max(1, math.ceil(longest / r.rnn_steps)),
                             dropout=r.dropout, members=r.members, label_smoothing=r.label_smoothing,
                             input_mean=mean, input_std=std, **r.extra)
        n = len(seqs)
        batch = min(r.batch, n)
        steps = int(np.clip(r.epochs * math.ceil(n / batch), r.min_steps, r.max_steps))
        self.steps_ = steps
        opt = torch.optim.Adam(self.model.parameters(), lr=r.lr, weight_decay=r.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps)))
        y_t = torch.as_tensor(codes)
        self.model.train()
        order = gen.permutation(n)
        pos = 0
        for _ in range(steps):
            if pos + batch > n:
                order, pos = gen.permutation(n), 0
            idx = order[pos:pos + batch]
            pos += batch
            xs = []
            for i in idx:
                s = seqs[i]
                T = len(s)
                if r.slice < 1.0 and T > 4:
                    keep = max(2, int(round(T * gen.uniform(r.slice, 1.0))))
                    start = int(gen.integers(0, T - keep + 1))
                    s = s[start:start + keep]
                scale = self.model.input_std if not self.univariate else torch.ones(s.shape[1])
                if r.scaling > 0:
                    s = s * torch.as_tensor(gen.normal(1.0, r.scaling, s.shape[1]), dtype=torch.float32)
                if r.jitter > 0:
                    s = s + r.jitter * scale * torch.as_tensor(gen.standard_normal(s.shape), dtype=torch.float32)
                xs.append(s)
            lengths = torch.tensor([len(s) for s in xs])
            loss = self.model.compute_loss({"x": pad_sequence(xs, batch_first=True), "y": y_t[idx],
                                            "lengths": lengths})
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            opt.step()
            sched.step()
        self.model.eval()
        return self

    @torch.no_grad()
    def predict_proba(self, X: list[np.ndarray]) -> np.ndarray:
        seqs = _prepare(X, self.univariate)
        out = []
        for k in range(0, len(seqs), 64):
            chunk = seqs[k:k + 64]
            lengths = torch.tensor([len(s) for s in chunk])
            out.append(self.model.predict_proba(pad_sequence(chunk, batch_first=True), lengths).numpy())
        return np.concatenate(out)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]

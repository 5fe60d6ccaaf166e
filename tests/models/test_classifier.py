"""SequenceClassifier: packed == each sequence alone (float64), pooling, class weights."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from rnnkit.data.sequences import collate_packed, collate_padded
from rnnkit.errors import ConfigError
from rnnkit.models.classifier import SequenceClassifier
from tests.models.helpers import assert_average_by_hand

LENGTHS = (5, 2, 7, 1, 4)


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny float64 models: one thread avoids thread-pool contention on a shared CPU.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _items(seed=0, n_features=3, n_classes=4):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(t, n_features)), int(rng.integers(0, n_classes))) for t in LENGTHS]


def _model(cell, pooling, impl="auto", **kw):
    torch.manual_seed(0)
    args = dict(hidden_size=5, num_layers=2, cell=cell, pooling=pooling, backend=impl,
                class_weights=[1.0, 2.0, 0.5, 1.5], input_mean=[0.1, -0.2, 0.3], input_std=[1.0, 2.0, 0.5])
    args.update(kw)
    return SequenceClassifier(3, 4, **args).double()


@pytest.mark.parametrize("cell, pooling", list(itertools.product(["lstm", "gru", "rnn"], ["last", "mean", "attention"])))
def test_packed_batch_loss_and_grads_equal_each_sequence_alone(cell, pooling):
    items = _items()
    model = _model(cell, pooling)
    loss = model.compute_loss(collate_packed(items))
    grads = torch.autograd.grad(loss, list(model.parameters()))
    # The weighted mean over the batch, rebuilt from one-sequence batches.
    w = model.class_weights
    singles = [w[t] * model.compute_loss(collate_packed([(f, t)])) for f, t in items]
    alone = sum(singles) / sum(w[t] for _, t in items)
    grads_alone = torch.autograd.grad(alone, list(model.parameters()))
    torch.testing.assert_close(loss, alone, rtol=1e-12, atol=1e-12)
    for g, h in zip(grads, grads_alone):
        torch.testing.assert_close(g, h, rtol=1e-10, atol=1e-12)
    # The padded layout gives the same loss too.
    torch.testing.assert_close(model.compute_loss(collate_padded(items)), loss, rtol=1e-12, atol=1e-12)


def test_training_on_packed_batches_follows_the_per_sequence_trajectory():
    items = _items(seed=1)
    packed_model, alone_model = _model("lstm", "mean", dropout=0.0), _model("lstm", "mean", dropout=0.0)
    opt_a = torch.optim.SGD(packed_model.parameters(), lr=0.5)
    opt_b = torch.optim.SGD(alone_model.parameters(), lr=0.5)
    w = alone_model.class_weights
    for _ in range(3):
        opt_a.zero_grad()
        loss_a = packed_model.compute_loss(collate_packed(items))
        loss_a.backward()
        opt_a.step()
        opt_b.zero_grad()
        loss_b = sum(w[t] * alone_model.compute_loss(collate_packed([(f, t)])) for f, t in items)
        loss_b = loss_b / sum(w[t] for _, t in items)
        loss_b.backward()
        opt_b.step()
        torch.testing.assert_close(loss_a, loss_b, rtol=1e-12, atol=1e-12)
    for p, q in zip(packed_model.parameters(), alone_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_last_pooling_is_the_final_state_of_each_direction():
    items = _items()
    model = _model("gru", "last", num_layers=1)
    logits = model(collate_packed(items)["x"])  # (B, C)
    rnn = torch.nn.GRU(3, 5, bidirectional=True).double()
    rnn.load_state_dict(model.rnn.state_dict())
    for b, (feats, _) in enumerate(items):
        z = (torch.as_tensor(feats) - model.input_mean) / model.input_std  # (T, F)
        y, _ = rnn(z[:, None, :])                                          # (T, 1, 2H)
        pooled = torch.cat([y[-1, 0, :5], y[0, 0, 5:]])                    # fwd at T, bwd at 1
        torch.testing.assert_close(logits[b], model.head(pooled), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pooling", ["mean", "attention", "last"])
def test_padding_values_never_reach_the_output(pooling):
    model = _model("lstm", pooling)
    batch = collate_padded(_items())
    noisy = batch["x"].clone()
    for b, t in enumerate(LENGTHS):
        noisy[b, t:] = 1e3  # garbage after each end
    torch.testing.assert_close(model(noisy, batch["lengths"]), model(batch["x"], batch["lengths"]))


def test_class_weighted_loss_by_hand():
    items = _items()
    model = _model("rnn", "mean")
    batch = collate_packed(items)
    logits = model(batch["x"])                     # (B, C)
    logp = logits - logits.logsumexp(dim=1, keepdim=True)
    w = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)[batch["y"]]
    want = -(w * logp[torch.arange(len(items)), batch["y"]]).sum() / w.sum()
    torch.testing.assert_close(model.compute_loss(batch), want, rtol=1e-12, atol=1e-12)


def test_rnnkit_and_torch_layers_agree():
    items = _items()
    ours, theirs = _model("lstm", "attention", impl="rnnkit"), _model("lstm", "attention", impl="torch")
    theirs.load_state_dict(ours.state_dict())
    assert (ours.rnn.backend, theirs.rnn.backend) == ("rnnkit", "torch")
    batch = collate_packed(items)
    torch.testing.assert_close(ours(batch["x"]), theirs(batch["x"]), rtol=1e-10, atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ConfigError, match=r"^model cell must be one of lstm, gru, rnn, got 'tcn'$"):
        SequenceClassifier(3, 4, cell="tcn")
    with pytest.raises(ConfigError, match=r"^model pooling must be one of last, mean, attention, got 'max'$"):
        SequenceClassifier(3, 4, pooling="max")
    with pytest.raises(ConfigError, match=r"^model num_classes must be >= 2, got 1$"):
        SequenceClassifier(3, 1)
    with pytest.raises(ConfigError, match=r"^model class_weights must have 4 values, got 2$"):
        SequenceClassifier(3, 4, class_weights=[1.0, 2.0])
    with pytest.raises(ConfigError, match=r"^a padded batch \(B, T, F\) needs lengths \(B,\)$"):
        SequenceClassifier(3, 4)(torch.zeros(2, 3, 3))
    with pytest.raises(ConfigError, match=r"^model label_smoothing must be in \[0, 1\), got 1.0$"):
        SequenceClassifier(3, 4, label_smoothing=1.0)


def test_label_smoothing_is_the_mixture_with_uniform_targets():
    items = _items(seed=2)
    model = _model("gru", "mean", class_weights=None, label_smoothing=0.2)
    batch = collate_packed(items)
    logp = torch.log_softmax(model(batch["x"]), dim=-1)  # (B, C)
    # (1 - eps) * NLL of the target + eps * mean over classes of -log p
    want = (0.8 * -logp.gather(1, batch["y"][:, None]).squeeze(1) + 0.2 * -logp.mean(dim=1)).mean()
    torch.testing.assert_close(model.compute_loss(batch), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["ema", "swa"])
def test_weight_average_by_hand(kind):
    model = _model("gru", "mean", weight_average=kind, average_decay=0.9)
    names = [n for n, _ in model.named_parameters()]
    assert {f"average.{n.replace('.', '__')}" for n in names} | {"average.count"} <= set(model.state_dict())
    rng = np.random.default_rng(4)  # the weights set to known values, then folded in
    assert_average_by_hand(model, names, kind, 0.9, lambda shape: rng.normal(size=shape))
    model.use_average()
    for n, p in model.named_parameters():
        assert torch.equal(p, getattr(model.average, n.replace(".", "__")))


def test_weight_average_arguments():
    plain = SequenceClassifier(3, 4)
    assert not any(k.startswith("average.") for k in plain.state_dict())
    with pytest.raises(ConfigError, match=r"^model weight_average must be one of none, ema, swa, got 'mean'$"):
        SequenceClassifier(3, 4, weight_average="mean")
    with pytest.raises(ConfigError, match=r"^model average_decay must be in \(0, 1\), got 1.0$"):
        SequenceClassifier(3, 4, weight_average="ema", average_decay=1.0)
    with pytest.raises(ConfigError, match="weight_average='none'"):
        plain.update_average()
    fresh = SequenceClassifier(3, 4, weight_average="swa")
    before = [p.detach().clone() for p in fresh.parameters()]
    fresh.use_average()  # nothing averaged yet: the weights stay
    assert all(torch.equal(a, p) for a, p in zip(before, fresh.parameters()))


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
def test_ensemble_predicts_mean_probability_and_sums_member_losses(pooling):
    items = _items(seed=6)
    batch = collate_packed(items)
    single = _model("gru", pooling)
    model = _model("gru", pooling, members=3)
    # member 1 is built first, from the same seed, under the same names as the single model
    assert set(single.state_dict()) == {k for k in model.state_dict() if not k.startswith("extra_members.")}
    for k, v in single.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    logits = model.member_logits(batch["x"])  # 3 x (B, C)
    assert len(logits) == 3 and not torch.equal(logits[0], logits[1])
    torch.testing.assert_close(logits[0], single(batch["x"]), rtol=0, atol=0)
    mean_p = torch.stack([torch.softmax(z, dim=-1) for z in logits]).mean(0)
    torch.testing.assert_close(model.predict_proba(batch["x"]), mean_p, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.softmax(model(batch["x"]), -1), mean_p, rtol=1e-12, atol=1e-12)
    w = model.class_weights
    want = sum(torch.nn.functional.cross_entropy(z, batch["y"], weight=w) for z in logits)
    loss = model.compute_loss(batch)
    torch.testing.assert_close(loss, want, rtol=1e-12, atol=1e-12)
    # each member's gradient is what it gets alone: member 1's equals the single model's
    loss.backward()
    single.compute_loss(batch).backward()
    for (n, p), (m, q) in zip(single.named_parameters(), model.named_parameters()):
        assert n == m
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-12, atol=1e-12)


def test_members_must_be_positive():
    with pytest.raises(ConfigError, match=r"^model members must be >= 1, got 0$"):
        SequenceClassifier(3, 4, members=0)


def test_packed_deltas_are_each_sequences_step_differences():
    """packed_deltas on a packed batch of unsorted lengths equals x_t - x_{t-1} worked out
    on every sequence alone (0 at its first step), in the packed order."""
    from torch.nn.utils.rnn import pack_sequence, unpack_sequence

    from rnnkit.models.classifier import packed_deltas

    seqs = [torch.randn(t, 3, dtype=torch.float64) for t in LENGTHS]
    packed = pack_sequence(seqs, enforce_sorted=False)
    deltas = packed._replace(data=packed_deltas(packed.data, packed.batch_sizes))
    for seq, got in zip(seqs, unpack_sequence(deltas)):
        want = torch.cat([torch.zeros(1, 3, dtype=seq.dtype), seq[1:] - seq[:-1]])
        torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_deltas_model_packed_equals_each_sequence_alone(pooling):
    """model.deltas widens the recurrent input to [x, Δx] and still gives each sequence the
    loss it has alone (the differences never cross sequences in a packed batch)."""
    items = _items()
    model = _model("gru", pooling, deltas=True)
    assert model.rnn.input_size == 6
    batch = model.compute_loss(collate_packed(items))
    weights = model.class_weights
    alone = [model.compute_loss(collate_packed([it])) * weights[it[1]] for it in items]
    expected = sum(alone) / sum(weights[y] for _, y in items)
    torch.testing.assert_close(batch, expected, rtol=1e-12, atol=1e-12)
    off = _model("gru", pooling)
    assert off.rnn.input_size == 3
    assert not torch.allclose(off.compute_loss(collate_packed(items)), batch)

"""Weight averaging shared by the classification networks (rnnkit.models.averaging): the ema/swa
formulas on the hybrid, its batch-norm running statistics averaged by the same rule, integer
and fixed buffers left alone, and the recurrent network's saved keys as before."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.averaging import WeightAveraging
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.models.lstm_fcn import LSTMFCN
from tests.models.helpers import assert_average_by_hand


def _hybrid(**kw) -> LSTMFCN:
    torch.manual_seed(0)
    return LSTMFCN(2, 3, filters=(4, 5), kernels=(3, 3), hidden_size=4, input_mean=[0.5, -1.0],
                   input_std=[2.0, 3.0], class_weights=[1.0, 2.0, 0.5], **kw).double()


def _averaged_names(model) -> list[str]:
    """What the average must hold: every parameter, then each norm's running statistics."""
    norms = [f"{n}.{b}" for n, _ in model.named_modules() if n.count("norms.")
             for b in ("running_mean", "running_var")]
    return [n for n, _ in model.named_parameters()] + norms


@pytest.mark.parametrize("kind", ["ema", "swa"])
def test_hybrid_average_by_hand_running_statistics_included(kind):
    model = _hybrid(weight_average=kind, average_decay=0.9)
    names = _averaged_names(model)
    assert sum("running_" in n for n in names) == 4  # two blocks, mean and var each
    keys = {k for k in model.state_dict() if k.startswith("average.")}
    assert keys == {f"average.{n.replace('.', '__')}" for n in names} | {"average.count"}
    fixed = {k: model.state_dict()[k].clone() for k in ("input_mean", "input_std", "class_weights")}
    rng = np.random.default_rng(4)  # every averaged tensor set to known values, then folded in
    assert_average_by_hand(model, names, kind, 0.9, lambda shape: rng.uniform(0.5, 2.0, size=shape))
    model.use_average()
    state = model.state_dict()
    for n in names:  # the running statistics too: evaluation uses them
        assert torch.equal(state[n], getattr(model.average, n.replace(".", "__")))
    assert all(torch.equal(state[k], v) for k, v in fixed.items())


def test_hybrid_without_averaging_is_the_network_as_before():
    plain, ema = _hybrid(), _hybrid(weight_average="ema")
    assert not any(k.startswith("average.") for k in plain.state_dict())
    # the average is built from copies after every parameter: the same initial weights
    assert all(torch.equal(v, ema.state_dict()[k]) for k, v in plain.state_dict().items())
    with pytest.raises(ConfigError, match=r"^this model was built with weight_average='none'"):
        plain.update_average()
    with pytest.raises(ConfigError, match=r"^model weight_average must be one of none, ema, swa, got 'mean'$"):
        LSTMFCN(1, 2, weight_average="mean")
    with pytest.raises(ConfigError, match=r"^model average_decay must be in \(0, 1\), got 0.0$"):
        LSTMFCN(1, 2, weight_average="ema", average_decay=0.0)


def test_training_steps_move_the_statistics_and_the_average_follows():
    model = _hybrid(weight_average="swa")
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(6, 9, 2)))                 # (B, T, F)
    lengths = torch.tensor([9, 7, 5, 9, 3, 8])
    batch = {"x": x, "lengths": lengths, "y": torch.tensor([0, 1, 2, 0, 1, 2])}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    for _ in range(3):
        opt.zero_grad()
        model.compute_loss(batch).backward()
        opt.step()
        model.update_average()
        seen.append(model.members[0].norms[0].running_mean.clone())
    assert not torch.equal(seen[0], seen[2])
    torch.testing.assert_close(model.average.members__0__norms__0__running_mean, sum(seen) / 3, rtol=1e-12, atol=0)


class _TorchNorm(WeightAveraging, nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.bn = nn.BatchNorm1d(3)
        self._init_average("ema", 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.lin(x))


def test_integer_buffers_are_left_alone():
    m = _TorchNorm()
    assert {k for k in m.state_dict() if k.startswith("average.")} == {
        "average.lin__weight", "average.lin__bias", "average.bn__weight", "average.bn__bias",
        "average.bn__running_mean", "average.bn__running_var", "average.count"}
    m(torch.randn(8, 3))  # one training step of statistics: num_batches_tracked 1
    m.update_average()
    m.bn.num_batches_tracked.fill_(7)
    m.use_average()
    assert int(m.bn.num_batches_tracked) == 7


def test_recurrent_network_keys_as_saved_before():
    """SequenceClassifier holds no norm layers: its average keeps the keys it always had."""
    model = SequenceClassifier(3, 4, weight_average="swa")
    params = {f"average.{n.replace('.', '__')}" for n, _ in model.named_parameters()}
    assert {k for k in model.state_dict() if k.startswith("average.")} == params | {"average.count"}

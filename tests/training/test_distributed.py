"""Data-parallel training: sharding, unused parameters, and 2-process vs 1-process parity."""
from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, TensorDataset

from rnnkit.errors import ConfigError
from rnnkit.models import RecurrentModel
from rnnkit.training import distributed as D
from tests.training import distributed_helpers as dh


def _loader(n=32, batch=8, shuffle=True):
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1).expand(n, 2, 1).contiguous()  # (N, T, 1)
    return DataLoader(TensorDataset(x, x[:, 0]), batch_size=batch, shuffle=shuffle)


def _ids(loader):
    return [[int(v) for v in xb[:, 0, 0]] for xb, _ in loader]


@pytest.mark.parametrize("shuffle", [True, False])
def test_ranks_split_each_global_batch(shuffle):
    one = D.distributed_loader(_loader(shuffle=shuffle), seed=3, rank_=0, world=1)
    r0 = D.distributed_loader(_loader(shuffle=shuffle), seed=3, rank_=0, world=2)
    r1 = D.distributed_loader(_loader(shuffle=shuffle), seed=3, rank_=1, world=2)
    assert r0.batch_size == r1.batch_size == 4
    for epoch in (1, 2):
        for ld in (one, r0, r1):
            D.SetEpoch(ld).on_epoch_start(None, epoch)
        whole, a, b = _ids(one), _ids(r0), _ids(r1)
        assert len(whole) == len(a) == len(b) == 4
        for g, x, y in zip(whole, a, b):
            assert sorted(g) == sorted(x + y) and not set(x) & set(y)
    assert sorted(sum(whole, [])) == list(range(32))


def test_set_epoch_reshuffles():
    ld = D.distributed_loader(_loader(), seed=0, rank_=0, world=2)
    D.SetEpoch(ld).on_epoch_start(None, 1)
    first = _ids(ld)
    D.SetEpoch(ld).on_epoch_start(None, 2)
    assert _ids(ld) != first
    D.SetEpoch(ld).on_epoch_start(None, 1)
    assert _ids(ld) == first


def test_global_batch_must_divide():
    with pytest.raises(ConfigError, match=r"^train.batch_size \(6\) is the global batch and must be a "
                                          r"multiple of the number of processes \(4\)$"):
        D.distributed_loader(_loader(batch=6), rank_=0, world=4)


class _WithSpareHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.used = torch.nn.Linear(2, 1)
        self.spare = torch.nn.Linear(2, 1)  # never reaches the loss
        self.drop = torch.nn.Dropout(0.5)

    def compute_loss(self, batch):
        return self.used(self.drop(batch)).pow(2).mean()


def test_unused_parameters_found_without_side_effects():
    model = _WithSpareHead()
    batch = torch.randn(4, 2)
    torch.manual_seed(5)
    names = D.unused_parameters(model, batch)
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))  # the dry run left the RNG as it was
    assert names == ["spare.weight", "spare.bias"]
    assert all(p.grad is None for p in model.parameters())
    assert D.unused_parameters(RecurrentModel(1, 4, 1), (torch.randn(2, 3, 1), torch.randn(2, 1))) == []


def test_single_process_defaults(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert not D.launched()
    assert D.init_distributed("cpu") == D.DistInfo(0, 1, 0)
    assert (D.rank(), D.world_size(), D.is_main()) == (0, 1, True)
    assert D.all_reduce_mean(2.5) == 2.5
    D.barrier()  # no-op


@pytest.mark.parametrize("rank, main", [("0", True), ("1", False)])
def test_is_main_follows_the_launcher_before_the_group_exists(monkeypatch, rank, main):
    # tasks check and prepare --out before training joins the process group: a second
    # rank must not take itself for rank 0 then (it wrote config.json, and rank 0 saw an
    # earlier run in its own fresh folder)
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert not D.is_active()
    assert D.is_main() is main


def test_bad_rank_variable(monkeypatch):
    monkeypatch.setenv("RANK", "zero")
    with pytest.raises(ConfigError, match=r"^environment variable RANK must be an integer, got 'zero'$"):
        D.env_info()


def test_ddp_loss_finds_the_unused_head_and_trains():
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{dh.free_port()}", rank=0, world_size=1)
    try:
        model = _WithSpareHead()
        loss_fn = D.ddp_loss(model, torch.device("cpu"), torch.randn(4, 2))
        assert loss_fn.find_unused_parameters is True
        assert D.ddp_loss(RecurrentModel(1, 4, 1), torch.device("cpu"),
                          (torch.randn(2, 3, 1), torch.randn(2, 1))).find_unused_parameters is False
        for _ in range(2):  # a second step would hang or fail if the spare head were not handled
            model.zero_grad()
            loss_fn(torch.randn(4, 2)).backward()
            assert model.used.weight.grad is not None and model.spare.weight.grad is None
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_match_one_process(tmp_path):
    """Real torchrun processes: 2 ranks x batch 4 vs 1 rank x batch 8, 8 Adam steps, shuffled."""
    two = dh.torchrun(2, str(tmp_path / "two"))
    one = dh.torchrun(1, str(tmp_path / "one"))
    dh.finish(two)
    dh.finish(one)
    r0, r1 = dh.weights(tmp_path / "two", 0), dh.weights(tmp_path / "two", 1)
    single = dh.weights(tmp_path / "one", 0)
    assert all(torch.equal(r0[k], r1[k]) for k in r0)  # identical across ranks
    for k in r0:
        assert torch.allclose(r0[k], single[k], rtol=1e-5, atol=1e-6), k
    torch.manual_seed(0)
    init = RecurrentModel(3, 8, 1, cell="lstm", num_layers=2).state_dict()
    assert dh.max_diff(single, dict(init)) > 1e-2  # training really moved the weights


def test_text_streams_are_dealt_out_by_column():
    from rnnkit.data.text import ContiguousBatches

    ids = torch.arange(200)
    whole = ContiguousBatches(ids, batch_size=4, seq_len=5, max_chunks=3)
    parts = [D.distributed_loader(ContiguousBatches(ids, batch_size=4, seq_len=5, max_chunks=3),
                                  rank_=r, world=2) for r in (0, 1)]
    assert parts[0].peek()[0].shape == (5, 2)
    assert torch.equal(torch.cat([p.peek()[0] for p in parts], dim=1), whole.chunk(0)[0])
    for _ in range(2):  # two sub-epoch passes: each rank keeps its own streams, in step
        for (x, y), (x0, y0), (x1, y1) in zip(whole, *parts):
            assert torch.equal(torch.cat([x0, x1], dim=1), x) and torch.equal(torch.cat([y0, y1], dim=1), y)
    assert len(parts[0]) == len(whole) == 3
    assert parts[1].chars_per_pass == whole.chars_per_pass


def test_other_loaders_are_refused():
    with pytest.raises(ConfigError, match=r"^distributed training needs a torch DataLoader with a "
                                          r"batch_size, got list$"):
        D.distributed_loader([1, 2], rank_=0, world=2)


@pytest.mark.slow
def test_classify_command_runs_unchanged_under_torchrun(tmp_path):
    """`torchrun --nproc-per-node 2 -m rnnkit classify train ...`: one complete run folder."""
    import subprocess

    data = dh.REPO / "src" / "rnnkit" / "datasets" / "classification"
    cmd = [str(dh.TORCHRUN), "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(dh.free_port()), "-m", "rnnkit", "classify", "train",
           "--train", str(data / "JapaneseVowels_TRAIN.ts"), "--test", str(data / "JapaneseVowels_TEST.ts"),
           "--out", str(tmp_path / "run"), "--epochs", "2", "--set", "model.hidden_size=8",
           "--set", "model.num_layers=1"]
    env = {**__import__("os").environ, "PYTHONPATH": str(dh.REPO / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("classify: test accuracy") == 1  # rank 0 alone evaluates
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["checkpoints", "config.json", "confusion.png", "loss.png", "metrics.csv",
                     "metrics.json", "model", "summary.json"]

"""The trainer: learning, run folder, stopping rules, clipping, callbacks, non-finite losses."""
from __future__ import annotations

import csv
import json
import math

import pytest
import torch
import typer
from torch.utils.data import DataLoader, TensorDataset
from typer.testing import CliRunner

from rnnkit.cli.app import _OneLineErrors
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.models import RecurrentModel
from rnnkit.training import NonFiniteLossError, TrainConfig, Trainer, load_model
from rnnkit.training import checkpoint as ckpt


def _data(n=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, 2, generator=g)  # (N, T, I)
    y = x.sum(dim=(1, 2)).unsqueeze(1) / 4  # (N, 1)
    return x, y


def _loaders(batch_size=4):
    x, y = _data()
    return (
        DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True),
        DataLoader(TensorDataset(x[:8], y[:8]), batch_size=8),
    )


def _cfg(**kw):
    base = dict(epochs=3, batch_size=4, lr=1e-2, device="cpu", progress=False, threads=1)
    base.update(kw)
    return TrainConfig(**base)


def _model(hidden=6):
    return RecurrentModel(2, hidden, 1, cell="gru")


def test_fit_learns_and_writes_the_run_folder(tmp_path):
    train, val = _loaders()
    model = _model()
    trainer = Trainer(model, _cfg(epochs=6, lr=3e-2), run_dir=tmp_path / "run")
    result = trainer.fit(train, val)
    assert result.epochs_run == 6 and result.stopped_reason == "completed"
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    assert result.best_val_loss == min(r["val_loss"] for r in result.history)
    run = tmp_path / "run"
    for name in ("config.json", "metrics.csv", "loss.png"):
        assert (run / name).is_file(), name
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for sub in ("last", "best"):
        assert sorted(p.name for p in (run / "checkpoints" / sub).iterdir()) == [
            "model.json", "model.safetensors", "state.pt"]
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["lr"] == 3e-2 and config["model"] == model.model_config
    with (run / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert set(rows[0]) >= {"train_loss", "val_loss", "lr", "grad_norm", "grad_norm_max", "step"}
    assert int(rows[-1]["step"]) == 6 * 4
    best = ckpt.load_state(run / "checkpoints" / "best")
    assert best["epoch"] == result.best_epoch


def test_early_stopping_on_validation_loss():
    train, val = _loaders()
    result = Trainer(_model(), _cfg(epochs=10, patience=2, min_delta=1e6)).fit(train, val)
    # Epoch 1 improves on +inf; epochs 2 and 3 cannot beat it by 1e6.
    assert result.stopped_reason == "early_stopping"
    assert result.epochs_run == 3
    assert result.best_epoch == 1


def test_time_budget_ends_the_epoch_early():
    train, val = _loaders()
    trainer = Trainer(_model(), _cfg(epochs=5, time_budget=1e-9))
    result = trainer.fit(train, val)
    assert (result.stopped_reason, result.epochs_run, trainer.step) == ("time_budget", 1, 1)


def test_grad_clip_bounds_the_update_and_logs_the_raw_norm():
    x, y = _data(4)
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    # The gradient norm at the starting weights, computed by hand.
    model.zero_grad()
    model.compute_loss((x, y)).backward()
    raw = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters()))
    cfg = _cfg(epochs=1, optimizer="sgd", lr=1.0, grad_clip=1e-3)
    result = Trainer(model, cfg).fit([(x, y)])
    step = math.sqrt(sum(float((p.detach() - b).pow(2).sum()) for p, b in zip(model.parameters(), before)))
    assert step == pytest.approx(1e-3, rel=1e-4)  # SGD with lr 1 moves by the clipped gradient
    assert result.history[0]["grad_norm"] == pytest.approx(raw, rel=1e-5)
    assert raw > 1e-2


def test_schedules_step_per_epoch():
    train, _ = _loaders()
    r = Trainer(_model(), _cfg(epochs=4, scheduler="cosine", min_lr_ratio=0.1)).fit(train)
    assert r.history[-1]["lr"] == pytest.approx(1e-3)
    r = Trainer(_model(), _cfg(epochs=4, scheduler="step", step_size=2, gamma=0.5)).fit(train)
    assert [h["lr"] for h in r.history] == pytest.approx([1e-2, 5e-3, 5e-3, 2.5e-3])


class _LrTrace:
    def __init__(self):
        self.lrs = []

    def on_batch_end(self, trainer, step, loss):  # after the schedule's step: the lr of step + 1
        self.lrs.append(trainer.optimizer.param_groups[0]["lr"])


def test_onecycle_steps_after_every_batch_over_the_runs_steps():
    train, _ = _loaders()  # 4 batches an epoch
    trace = _LrTrace()
    Trainer(_model(), _cfg(epochs=3, scheduler="onecycle"), callbacks=[trace]).fit(train)
    opt = torch.optim.Adam(_model().parameters(), lr=1e-2)
    want = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=12, pct_start=1.5 / 12)
    expected = []
    for _ in range(12):
        opt.step()
        want.step()
        expected.append(opt.param_groups[0]["lr"])
    assert trace.lrs == pytest.approx(expected)
    assert trace.lrs[-2] == pytest.approx(1e-2 / 25e4)  # the 12th and last step runs at the cycle's end


def test_onecycle_counts_max_steps_when_fewer():
    train, _ = _loaders()
    trace = _LrTrace()
    Trainer(_model(), _cfg(epochs=3, scheduler="onecycle", max_steps=6, warmup=0.5), callbacks=[trace]).fit(train)
    assert len(trace.lrs) == 6 and trace.lrs[-2] == pytest.approx(1e-2 / 25e4)  # the cycle ends at step 6, not 12
    assert trace.lrs[1] == pytest.approx(1e-2)  # warm-up over half of 6 steps: step 3 runs at the peak


def test_onecycle_needs_a_step_count():
    with pytest.raises(ConfigError, match="onecycle needs train.max_steps"):
        Trainer(_model(), _cfg(scheduler="onecycle")).fit(iter(list(_loaders()[0])))  # no length, no max_steps
    with pytest.raises(ConfigError, match="warmup must be in"):
        _cfg(scheduler="onecycle", warmup=1.0)


class _Recorder:
    def __init__(self):
        self.events = []

    def on_fit_start(self, trainer):
        self.events.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.events.append(f"epoch_start {epoch}")

    def on_batch_end(self, trainer, step, loss):
        self.events.append(f"batch {step}")

    def on_epoch_end(self, trainer, epoch, metrics):
        self.events.append(f"epoch_end {epoch} {metrics['epoch']}")
        if epoch == 2:
            trainer.request_stop("enough")

    def on_fit_end(self, trainer):
        self.events.append("fit_end")


class _StatefulModel(RecurrentModel):
    def __init__(self, log):
        super().__init__(2, 3, 1, cell="rnn")
        self.log = log

    def on_epoch_start(self):
        self.log.append(f"model epoch_start training={self.training}")

    def on_eval_start(self):
        self.log.append(f"model eval_start training={self.training}")


def test_callbacks_and_model_hooks_in_order():
    x, y = _data(4)
    rec = _Recorder()
    model = _StatefulModel(rec.events)
    result = Trainer(model, _cfg(epochs=5), callbacks=[rec]).fit([(x, y)] * 2, [(x, y)])
    assert result.stopped_reason == "enough" and result.epochs_run == 2
    assert rec.events == [
        "fit_start",
        "model epoch_start training=True", "epoch_start 1", "batch 1", "batch 2",
        "model eval_start training=False", "epoch_end 1 1",
        "model epoch_start training=True", "epoch_start 2", "batch 3", "batch 4",
        "model eval_start training=False", "epoch_end 2 2",
        "fit_end",
    ]


def _poisoned(x, y, bad, value, where="x"):
    """Two clean batches per epoch; in epoch ``bad`` the second batch's x or y holds ``value``."""

    class Loader:
        epoch = 0

        def __len__(self):
            return 2

        def __iter__(self):
            self.epoch += 1
            yield x, y
            if self.epoch == bad:
                x_bad, y_bad = x.clone(), y.clone()
                (x_bad if where == "x" else y_bad).view(-1)[0] = value
                yield x_bad, y_bad
            else:
                yield x, y

    return Loader()


@pytest.mark.parametrize(
    "where, value, what",
    [
        ("x", float("nan"), "loss (nan)"),
        ("y", float("inf"), "loss (inf)"),
        ("x", float("inf"), "gradient norm (nan)"),  # tanh saturates: finite loss, NaN gradient
    ],
)
def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, where, value, what):
    x, y = _data(4)
    run = tmp_path / "run"
    seen = {}

    class Snapshot:
        def on_epoch_end(self, trainer, epoch, metrics):
            seen[epoch] = (run / "checkpoints" / "last" / "model.safetensors").read_bytes()

    trainer = Trainer(_model(), _cfg(epochs=4), run_dir=run, callbacks=[Snapshot()])
    with pytest.raises(NonFiniteLossError) as err:
        trainer.fit(_poisoned(x, y, 2, value, where))
    assert str(err.value) == (
        f"non-finite {what} at epoch 2, step 4 (batch 2 of the epoch); training stopped; "
        f"the last good checkpoint is kept in {run / 'checkpoints' / 'last'}"
    )
    assert list(seen) == [1]
    assert (run / "checkpoints" / "last" / "model.safetensors").read_bytes() == seen[1]
    assert ckpt.load_state(run / "checkpoints" / "last")["epoch"] == 1
    model, _ = load_model(run / "checkpoints" / "last", RecurrentModel.from_config)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert [p.name for p in run.rglob(".tmp*")] == []


def test_non_finite_loss_exits_2_with_one_line_through_the_cli(tmp_path):
    x, y = _data(4)
    app = typer.Typer(cls=_OneLineErrors)

    @app.command()
    def train() -> None:
        Trainer(_model(), _cfg(epochs=3), run_dir=tmp_path / "run").fit(_poisoned(x, y, 2, float("nan")))

    @app.command()
    def other() -> None:  # pragma: no cover - keeps `train` a named subcommand
        pass

    result = CliRunner().invoke(app, ["train"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: non-finite loss (nan) at epoch 2, step 4 (batch 2 of the epoch)")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_resume_refuses_a_different_model_config(tmp_path):
    train, val = _loaders()
    Trainer(_model(6), _cfg(epochs=1), run_dir=tmp_path / "run").fit(train, val)
    with pytest.raises(CheckpointError) as err:
        Trainer(_model(7), _cfg(epochs=2), run_dir=tmp_path / "run").fit(train, val, resume=True)
    assert str(err.value) == (
        f"cannot resume from {tmp_path / 'run'}: model hidden_size is 6 in the checkpoint but 7 in this config"
    )


def test_resume_without_checkpoint(tmp_path):
    train, _ = _loaders()
    with pytest.raises(CheckpointError, match=r"cannot resume: '.*last' does not exist"):
        Trainer(_model(), _cfg(), run_dir=tmp_path / "empty").fit(train, resume=True)


def test_load_best_in_memory_without_run_dir():
    train, val = _loaders()
    model = _model()
    trainer = Trainer(model, _cfg(epochs=4, lr=5e-2))
    result = trainer.fit(train, val)
    trainer.load_best()
    assert trainer.evaluate(val) == pytest.approx(result.best_val_loss, rel=1e-6)


def test_same_seed_same_result():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = RecurrentModel(2, 4, 1, cell="lstm", num_layers=2, dropout=0.5)
        train, val = _loaders()
        runs.append(Trainer(model, _cfg(epochs=2, seed=3)).fit(train, val).history)
    assert [r["train_loss"] for r in runs[0]] == [r["train_loss"] for r in runs[1]]


def test_tensorboard_when_asked(tmp_path):
    train, val = _loaders()
    cfg = _cfg(epochs=1, tensorboard=True)
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError) as err:
            Trainer(_model(), cfg, run_dir=tmp_path / "run").fit(train, val)
        assert str(err.value) == (
            "train.tensorboard = true needs the tensorboard package: pip install 'rnnkit[tensorboard]'"
        )
        return
    Trainer(_model(), cfg, run_dir=tmp_path / "run").fit(train, val)
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


def test_max_steps_is_honoured_exactly_even_mid_epoch(tmp_path):
    """Issue 15 fault 9: a cap below one epoch's batches stops at that step, not at the
    epoch's end (4 batches an epoch here, so 5 steps end inside epoch 2)."""
    train, val = _loaders()
    trainer = Trainer(_model(), _cfg(epochs=10, max_steps=5), run_dir=tmp_path / "run")
    result = trainer.fit(train, val)
    assert trainer.step == 5
    assert result.stopped_reason == "max_steps" and result.epochs_run == 2
    assert result.history[-1]["step"] == 5
    # Resuming a run that already took its steps takes none.
    again = Trainer(_model(), _cfg(epochs=10, max_steps=5), run_dir=tmp_path / "run")
    assert again.fit(train, val, resume=True).stopped_reason == "max_steps" and again.step == 5


@pytest.mark.parametrize("field,value", [("epochs", 0), ("max_steps", 0), ("epochs", -1)])
def test_zero_epochs_or_steps_are_refused(field, value):
    """Issue 15 fault 9: --epochs 0 used to train one epoch silently."""
    with pytest.raises(ConfigError, match=rf"^train\.{field} must be > 0, got {value}$"):
        _cfg(**{field: value})


def test_a_labelled_run_names_its_bar_and_epoch_lines(monkeypatch):
    from rnnkit.training import progress
    from rnnkit.training import trainer as trainer_mod

    described, printed = [], []

    class Bar(progress.EpochProgress):  # rich's calls, recorded
        def __enter__(self):
            self._progress = self
            return self

        def __exit__(self, *exc):
            pass

        def add_task(self, description, **kw):
            described.append(description)
            return 0

        def remove_task(self, task):
            pass

        def advance(self, loss):
            pass

        @property
        def console(self):
            return type("C", (), {"print": staticmethod(printed.append)})

    monkeypatch.setattr(trainer_mod, "EpochProgress", Bar)
    monkeypatch.setattr(trainer_mod, "progress_enabled", lambda wanted: wanted)
    train, _ = _loaders()
    Trainer(_model(), _cfg(epochs=2, progress=True), label="member 2/4").fit(train)
    Trainer(_model(), _cfg(epochs=1, progress=True), label="member 3/4").fit(train)
    Trainer(_model(), _cfg(epochs=1, progress=True)).fit(train)
    assert described == ["member 2/4 · epoch 1/2", "member 2/4 · epoch 2/2", "member 3/4", "epoch 1/1"]
    assert [p.split(": train")[0] for p in printed] == ["member 2/4: epoch 1", "member 2/4: epoch 2",
                                                        "member 3/4: epoch 1", "epoch 1"]

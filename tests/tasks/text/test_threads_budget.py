"""rnnkit text: threads for generation and evaluation; the time budget covers validation
and the final scoring (on a fake clock)."""
from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.models.charlm import CharLM
from rnnkit.tasks.text import estimator
from rnnkit.tasks.text.pipeline import evaluate_text, generate_text, load_text_config, train_text
from rnnkit.training import budget as budget_mod

CORPUS = "".join(f"Speaker{i % 3}:\nLine {i}, to be or not to be.\n\n" for i in range(120))
runner = CliRunner()


def tiny_config(*extra):
    return load_text_config(None, ["model.hidden_size=16", "model.embed_dim=8", "train.epochs=2",
                                   "train.batch_size=4", "data.seq_len=16", "train.threads=1",
                                   "train.progress=false", *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("text_threads")
    data = root / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    train_text(tiny_config("train.epochs=1", "train.max_steps=2"), data, root / "run")
    return data, root / "run"


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _threads_seen(monkeypatch):
    """generate() replaced by one that yields torch's thread count at each draw."""
    def fake(*args, **kwargs):
        for _ in range(3):
            yield str(torch.get_num_threads())
    monkeypatch.setattr(estimator, "generate", fake)


def test_generation_runs_on_one_thread_by_default_and_restores(trained, two_threads, monkeypatch):
    _threads_seen(monkeypatch)
    chars, _ = generate_text(trained[1], length=3)
    assert "".join(chars) == "111"
    assert torch.get_num_threads() == 2
    chars, _ = generate_text(trained[1], length=3, threads=2)
    assert "".join(chars) == "222"


def test_cli_generate_threads(trained, two_threads, monkeypatch):
    _threads_seen(monkeypatch)
    result = runner.invoke(app, ["text", "generate", "--model", str(trained[1]), "--length", "3"])
    assert result.exit_code == 0 and result.stdout == "111\n"
    result = runner.invoke(app, ["text", "generate", "--model", str(trained[1]), "--threads", "0"])
    assert result.exit_code == 2 and result.stderr == "error: --threads: must be an integer >= 1, saw 0\n"


def test_evaluation_runs_on_the_runs_threads(trained, two_threads, monkeypatch):
    seen = []
    real = estimator.score_ids

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(estimator, "score_ids", spy)
    evaluate_text(trained[1], trained[0])  # the run has train.threads = 1
    evaluate_text(trained[1], trained[0], threads=2)
    assert seen == [1, 2] and torch.get_num_threads() == 2


def test_time_budget_covers_validation_and_the_final_scoring(tmp_path, monkeypatch):
    # Fake clock: 1 s per training step, 0.5 s per validation batch (3 per pass, estimated
    # at 0.5 × 3 × 1 s = 1.5 s before the first pass) and per scoring chunk (1 here).
    # The budget leaves room for two passes: training stops at 7 + 2 × 1.5 >= 10.
    now = [0.0]
    monkeypatch.setattr(budget_mod, "now", lambda: now[0])
    loss, nats = CharLM.compute_loss, CharLM.sum_nats

    def timed_loss(self, batch):
        now[0] += 1.0 if self.training else 0.5
        return loss(self, batch)

    def timed_nats(self, batch):
        now[0] += 0.5
        return nats(self, batch)

    monkeypatch.setattr(CharLM, "compute_loss", timed_loss)
    monkeypatch.setattr(CharLM, "sum_nats", timed_nats)
    data = tmp_path / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    metrics = train_text(tiny_config("train.time_budget=10.0"), data, tmp_path / "run")
    assert metrics["stopped_reason"] == "time_budget"
    assert now[0] <= 10.0

"""The long-memory task generators: shapes, content, determinism."""
from __future__ import annotations

import pytest
import torch

from rnnkit.diagnostics import adding_problem, copy_memory, sequential_digits
from rnnkit.diagnostics.problems import problem
from rnnkit.errors import ConfigError


def test_adding_problem_shapes_markers_and_targets():
    x, y = adding_problem(50, 30, seed=1)
    assert x.shape == (50, 30, 2) and y.shape == (50, 1)
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    marks = x[..., 1]
    assert torch.all(marks.sum(1) == 2)  # exactly two markers per sequence
    assert torch.all(marks[:, :15].sum(1) == 1) and torch.all(marks[:, 15:].sum(1) == 1)
    torch.testing.assert_close(y[:, 0], (x[..., 0] * marks).sum(1))
    assert 0 <= float(x[..., 0].min()) and float(x[..., 0].max()) <= 1


def test_the_trivial_predictor_of_the_adding_problem_scores_about_one_sixth():
    _, y = adding_problem(20000, 20, seed=0)
    assert float(((y - 1.0) ** 2).mean()) == pytest.approx(1 / 6, rel=0.03)
    spec = problem("adding")
    assert spec.score(torch.full_like(y, float(y.mean())), y) == pytest.approx(1.0)
    assert spec.score(y, y) == 0.0


def test_generators_are_deterministic_by_seed():
    for make in (lambda s: adding_problem(8, 12, seed=s), lambda s: copy_memory(8, 12, seed=s)):
        a, b, c = make(3), make(3), make(4)
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        assert not torch.equal(a[0], c[0])


def test_copy_memory_layout():
    x, y = copy_memory(6, 20, seed=2, length=5, symbols=4)
    assert x.shape == (6, 30, 6) and y.shape == (6, 30) and y.dtype == torch.int64
    ids = x.argmax(-1)  # one-hot back to ids
    assert torch.all(x.sum(-1) == 1)
    assert torch.all((ids[:, :5] >= 1) & (ids[:, :5] <= 4))
    assert torch.all(ids[:, 5 + 20 - 1] == 5)  # the delimiter
    assert torch.all(y[:, :-5] == 0)
    assert torch.equal(y[:, -5:], ids[:, :5])  # the answer repeats the symbols


def test_sequential_digits_split_hold_and_permutation():
    pytest.importorskip("sklearn")
    x, y = sequential_digits(64, seed=0, split="all")
    assert x.shape == (1797, 64, 1) and y.shape == (1797,)
    assert 0 <= float(x.min()) and float(x.max()) == 1.0
    train, test = sequential_digits(64, split="train"), sequential_digits(64, split="test")
    assert len(train[1]) + len(test[1]) == 1797 and len(test[1]) == 359
    held, _ = sequential_digits(128, split="all")
    assert held.shape == (1797, 128, 1)
    torch.testing.assert_close(held[:, ::2], x)  # each pixel held for two steps
    torch.testing.assert_close(held[:, 1::2], x)
    p1, _ = sequential_digits(64, seed=5, permute=True, split="all")
    p2, _ = sequential_digits(64, seed=5, permute=True, split="all")
    assert torch.equal(p1, p2) and not torch.equal(p1, x)
    torch.testing.assert_close(p1.sort(1).values, x.sort(1).values)  # same pixels, reordered


def test_digits_without_scikit_learn_is_a_one_line_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ConfigError, match=r"^task 'digits' needs scikit-learn .*pip install 'rnnkit\[diagnostics\]'$"):
        sequential_digits(64)


@pytest.mark.parametrize("call,message", [
    (lambda: adding_problem(0, 10), "batch: expected an int >= 1, got 0"),
    (lambda: adding_problem(4, 1), "T: expected an int >= 2, got 1"),
    (lambda: copy_memory(4, 10, symbols=1), "symbols: expected an int >= 2, got 1"),
    (lambda: sequential_digits(100), "T: the digits task needs a multiple of 64, got 100"),
    (lambda: problem("parity"), "task: expected one of adding, copy, digits, got 'parity'"),
])
def test_bad_arguments_are_one_line_errors(call, message):
    with pytest.raises(ConfigError) as err:
        call()
    assert str(err.value) == message

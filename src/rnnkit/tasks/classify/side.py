"""The partner's second network fitted in a process of its own, beside the first (``n_jobs``).

Without a validation split the default ``Classifier`` fits two networks of the same recipe:
one on every series and one on a stratified 75 % (:mod:`.partner`). They are independent,
so with ``n_jobs`` > 1 (or -1 and at least 2 CPUs) the second one runs in a child Python
process (``python -m rnnkit.tasks.classify.side``) while the parent fits the first.

Why a process and not a thread: each fit seeds and draws from torch's global generator
(the initial weights, dropout inside the network and the LSTM), which is one per process;
two threads drawing from it at once would interleave their draws. In its own process the
second fit sees exactly what it sees when run after the first in one process (it re-seeds
the generator itself), with the same ``threads`` torch threads, so the weights are the same
bits either way (tested in tests/tasks/classify/test_side.py).

Protocol: the parent writes one pickle (the estimator's parameters, the series, the labels,
the class order) to the child's stdin; the child fits and writes one pickle back on stdout:
("ok", the fitted attributes with the network as its state dict, the warnings raised) or
("error", the exception). Nothing is written to disk. A fit whose work is small
(:data:`MIN_WORK`) stays in the parent: starting a process costs seconds.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError

__all__ = ["MIN_WORK", "cores", "jobs_of", "SideFit"]

MIN_WORK = 2_000_000  # time steps read in training (steps x batch x mean length) below which a fit stays here


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def jobs_of(n_jobs: Any) -> int:
    """Network fits at once: ``n_jobs`` (None: 1; -1: :func:`cores`); one-line ConfigError otherwise."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) \
            or not (n_jobs == -1 or n_jobs >= 1):
        raise ConfigError(f"n_jobs must be None, -1 or an int >= 1, got {n_jobs!r}")
    return cores() if n_jobs == -1 else int(n_jobs)


class SideFit:
    """A second network's fit running in a child process; :meth:`result` waits for it."""

    def __init__(self, params: dict, seqs: list, labels: np.ndarray, classes: np.ndarray) -> None:
        import rnnkit

        src = str(Path(rnnkit.__file__).resolve().parents[1])  # this rnnkit, wherever it was imported from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        self._proc = subprocess.Popen([sys.executable, "-m", "rnnkit.tasks.classify.side"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        payload = pickle.dumps((params, seqs, labels, classes), protocol=pickle.HIGHEST_PROTOCOL)
        self._writer = threading.Thread(target=self._send, args=(payload,), daemon=True)
        self._writer.start()  # a large set fills the pipe before the child reads it: never block the parent

    def _send(self, payload: bytes) -> None:
        try:
            self._proc.stdin.write(payload)
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):  # the child died: result() says so
            pass

    def result(self):
        """The fitted :class:`~rnnkit.tasks.classify.Classifier` (its network rebuilt here
        from the state dict); the child's exception re-raised, its warnings re-issued."""
        from rnnkit.models.registry import build_model
        from rnnkit.tasks.classify.estimator import Classifier

        out = self._proc.stdout.read()
        self._proc.wait()
        self._writer.join()
        if self._proc.returncode != 0 or not out:
            raise RuntimeError(f"the second network's fit (a child process) ended with exit status "
                               f"{self._proc.returncode} and no result; see its messages above")
        status, body, caught = pickle.loads(out)
        for message, category in caught:
            warnings.warn(message, category, stacklevel=2)
        if status == "error":
            raise body
        state = body.pop("network_")
        est = Classifier(**body.pop("params"))
        est.__dict__.update(body)
        network = build_model(est.info_)
        network.load_state_dict(state)
        est.network_ = network.cpu().eval()
        return est

    def close(self) -> None:
        """Stop the child if it still runs (the parent's fit failed or was interrupted)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __del__(self) -> None:  # never waited for (an error between the two fits): no child left behind
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


def _child() -> None:
    """Read the job from stdin, fit, write the result to stdout (the module docstring)."""
    params, seqs, labels, classes = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed while fitting must not enter the result
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            from rnnkit.tasks.classify.estimator import Classifier

            est = Classifier(**params)
            est._fit(seqs, labels, classes=classes)
            body = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
            body["network_"] = {k: v.detach().clone() for k, v in est.network_.state_dict().items()}
            body["params"] = params
            reply = ("ok", body)
        except Exception as err:  # noqa: BLE001 - handed to the parent, which raises it
            try:
                pickle.dumps(err)
                reply = ("error", err)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                reply = ("error", RuntimeError(f"{type(err).__name__}: {err}"))
    reply = (*reply, [(str(w.message), w.category) for w in caught])
    out.write(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()


if __name__ == "__main__":
    _child()

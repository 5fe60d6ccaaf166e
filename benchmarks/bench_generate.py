"""Characters per second of text generation with the default text model, by backend.

    .venv/bin/python benchmarks/bench_generate.py --chars 500

Builds the default character LM of ``rnnkit text`` (LSTM, embed 64, hidden 512, one
layer; untrained: the speed does not depend on the weights) over the vocabulary of the
bundled Shakespeare text, then generates ``--chars`` characters with
``rnnkit.models.sampling.generate`` (temperature 0.8) on ``backend="torch"``,
``"rnnkit"`` and ``"auto"``, round-robin, ``--repeats`` times each, on ``--threads``
threads (default 1). Prints the median chars/s by the wall clock and by this process's
CPU time (steadier on a shared machine).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rnnkit.data.text import Vocab  # noqa: E402
from rnnkit.models.charlm import CharLM  # noqa: E402
from rnnkit.models.sampling import generate  # noqa: E402

DATA = Path("/work/shared/data/text/shakespeare_plays.txt")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="text whose characters make the vocabulary")
    ap.add_argument("--chars", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    vocab = Vocab.from_text(args.data.read_text()[:500_000])
    models = {}
    for backend in ("torch", "rnnkit", "auto"):
        torch.manual_seed(0)
        models[backend] = CharLM(len(vocab), 64, 512, 1, "lstm", 0.0, backend=backend)
        "".join(generate(models[backend], vocab, prime="\n", length=20, seed=0))  # warm-up
    wall = {b: [] for b in models}
    cpu = {b: [] for b in models}
    for _ in range(args.repeats):
        for backend, model in models.items():
            t0, c0 = time.perf_counter(), time.process_time()
            "".join(generate(model, vocab, prime="\n", length=args.chars, temperature=0.8, seed=0))
            wall[backend].append(args.chars / (time.perf_counter() - t0))
            cpu[backend].append(args.chars / (time.process_time() - c0))
    print(f"{args.chars} chars, {args.threads} thread(s), median of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for backend in models:
        with torch.no_grad():
            path = models[backend].rnn.resolved_backend(rows=1)
        print(f"{backend:>6} (path {path}): {statistics.median(wall[backend]):.0f} chars/s wall, "
              f"{statistics.median(cpu[backend]):.0f} chars/s CPU time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

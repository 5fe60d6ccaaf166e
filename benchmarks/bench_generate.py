"""Characters per second of text generation with the default text model, one thread.

    .venv/bin/python benchmarks/bench_generate.py --chars 1000 --repeats 7

Builds the default character LM of ``rnnkit text`` (LSTM, embed 64, hidden 512, one
layer, backend "auto"; untrained: the speed does not depend on the weights) over the
vocabulary of the bundled Shakespeare text, then generates ``--chars`` characters at
temperature 0.8 two ways, round-robin, ``--repeats`` times each, on ``--threads``
threads (default 1):

- ``generate``: ``rnnkit.models.sampling.generate``, what ``rnnkit text generate`` runs
  (the LSTM fast path of models/lstm_step.py after the prime);
- ``model.step``: the same sampling with one ``model.step`` call per character (the
  path before the fast one, and what other cells still take), for comparison.

Prints the median chars/s by the wall clock and by this process's CPU time (steadier
on a shared machine), with the load average before and after.
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
from rnnkit.models.sampling import generate, next_id  # noqa: E402

DATA = Path("/work/shared/data/text/shakespeare_plays.txt")


@torch.no_grad()
def step_by_step(model, vocab, length, temperature, seed):
    """The loop without the fast path: model.step once per character."""
    g = torch.Generator()
    g.manual_seed(seed)
    model.eval()
    x, state, out = torch.tensor([[vocab.chars.index("\n")]]), None, []
    for _ in range(length):
        logits, state = model.step(x, state)
        i = next_id(logits[0], temperature, None, None, g)
        out.append(vocab.chars[i])
        x = torch.tensor([[i]])
    return "".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="text whose characters make the vocabulary")
    ap.add_argument("--chars", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    vocab = Vocab.from_text(args.data.read_text()[:500_000])
    torch.manual_seed(0)
    model = CharLM(len(vocab), 64, 512, 1, "lstm", 0.0, backend="auto")
    runs = {
        "generate": lambda: "".join(generate(model, vocab, prime="\n", length=args.chars,
                                             temperature=0.8, seed=0)),
        "model.step": lambda: step_by_step(model, vocab, args.chars, 0.8, 0),
    }
    for run in runs.values():
        run()  # warm-up
    load0 = os.getloadavg()[0]
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            wall[name].append(args.chars / (time.perf_counter() - t0))
            cpu[name].append(args.chars / (time.process_time() - c0))
    print(f"{args.chars} chars, {args.threads} thread(s), median of {args.repeats}, "
          f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    for name in runs:
        print(f"{name:>10}: {statistics.median(wall[name]):.0f} chars/s wall, "
              f"{statistics.median(cpu[name]):.0f} chars/s CPU time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

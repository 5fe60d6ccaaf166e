"""CPU seconds per optimizer step of the default classifier network, for the 5-minute budget.

On a shared machine the wall clock mostly measures the other processes; the CPU time of
this process (``time.process_time``, one torch thread) does not. One step = forward,
backward and Adam on a batch of series of length T (``--channels``, default 1), as ``Classifier`` builds
the hybrid (2-layer bidirectional LSTM of 64, dilations (1, 4, 16)) with the options given.

    .venv/bin/python benchmarks/step_cost_classify.py --length 384 1314 \
        --variant default --variant 'filters=[128,256,128]' --variant conv_steps=2048
    .venv/bin/python benchmarks/step_cost_classify.py --length 16 --channels 12 --classes 9 \
        --variant default --variant 'filters=[128,256,128]'        # JapaneseVowels' shape

Prints, per (length, variant), the median over ``--repeat`` steps after one warm-up step,
in milliseconds of CPU time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rnnkit.models.lstm_fcn import LSTMFCN  # noqa: E402

DEFAULTS = dict(hidden_size=64, num_layers=2, bidirectional=True, dilations=(1, 4, 16), dropout=0.1)


def parse_variant(text: str) -> dict:
    """'default' or 'name=json;name=json' -> LSTMFCN keyword arguments beside DEFAULTS."""
    if text == "default":
        return {}
    out = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        out[key] = json.loads(value)
    return out


def step_ms(length: int, options: dict, batch: int, classes: int, repeat: int, channels: int = 1) -> float:
    torch.manual_seed(0)
    model = LSTMFCN(channels, classes, **{**DEFAULTS, **options})
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.randn(batch, length, channels)                # (B, T, C)
    lengths = torch.full((batch,), length)
    y = torch.arange(batch) % classes
    times = []
    for i in range(repeat + 1):
        t0 = time.process_time()
        logits = model.member_logits(x, lengths)[0]         # (B, C)
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step warms up
            times.append(time.process_time() - t0)
    return 1000 * statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, nargs="+", default=[384])
    parser.add_argument("--variant", action="append", default=[],
                        help="'default' or LSTMFCN options 'name=json;name=json' (repeatable)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--channels", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for length in args.length:
        for text in args.variant or ["default"]:
            ms = step_ms(length, parse_variant(text), args.batch, args.classes, args.repeat, args.channels)
            print(f"T={length:5d}  {text:40s} {ms:8.1f} ms CPU / step", flush=True)


if __name__ == "__main__":
    main()

"""Character-level LM benchmark: bits per character on held-out plays vs minutes.

Trains :class:`rnnkit.models.charlm.CharLM` with truncated BPTT and carried state on
a text file for a fixed budget of *training* minutes, evaluating the whole held-out
validation text every ``--eval-every`` seconds of training. Validation is the last
plays: everything from ``--val-from`` (a line that starts a play) to the end, or the
last ``--val-fraction`` of the text cut at a blank line when that line is not found.

    .venv/bin/python benchmarks/bench_text.py /work/shared/data/text/shakespeare_plays.txt \
        --minutes 30 --log /work/runs/text_bench.jsonl

``--compare STEPS`` instead times STEPS training steps of the same model on
``backend="torch"`` (torch.nn's kernels) and on ``--backend`` (default "auto"), side by
side: same initial weights and batches, the two steps of a batch back to back with
alternating order; it prints the median chars/s of each and their ratio by the wall
clock and by this process's CPU time (``cpu_*``: steadier on a shared machine, where
the wall clock also counts the time other jobs hold the cores), then stops.

    .venv/bin/python benchmarks/bench_text.py /work/shared/data/text/shakespeare_plays.txt \
        --compare 30 --threads 1

It prints one JSON line per evaluation (minutes, chars seen, chars/s, val bpc) and
at the end: the share of training time spent in the recurrent layer (forward and
backward, from torch.profiler), and a temperature-0.8 sample. The loop is the same
as the trainer's: Adam, gradient-norm clipping, state reset at each pass over the
text, and a learning rate that decays with elapsed training time (cosine, to 10%).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

from rnnkit.data.text import ContiguousBatches, Vocab, read_corpus, split_text
from rnnkit.models.charlm import CharLM
from rnnkit.models.sampling import generate

LN2 = math.log(2.0)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", type=Path)
    p.add_argument("--minutes", type=float, default=30.0, help="training minutes (evals excluded)")
    p.add_argument("--eval-every", type=float, default=120.0, help="seconds of training")
    p.add_argument("--val-from", default="Prologue:\nTwo households, both alike in dignity",
                   help="text that starts the held-out plays")
    p.add_argument("--val-fraction", type=float, default=0.05)
    p.add_argument("--cell", default="lstm")
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", type=Path, default=None, help="append JSON lines here too")
    p.add_argument("--sample-chars", type=int, default=600)
    p.add_argument("--profile-steps", type=int, default=10)
    p.add_argument("--backend", default="auto", choices=["auto", "rnnkit", "torch"],
                   help="the recurrent layer's backend (rnnkit.nn)")
    p.add_argument("--split", default="auto", metavar="auto|rows|units[,...]",
                   help="with --compare: how the fused LSTM loops use the threads (auto: the rule; "
                        "several, comma-separated: one interleaved arm each)")
    p.add_argument("--compare", type=int, default=0, metavar="STEPS",
                   help="time STEPS training steps on backend torch and on --backend, side by side")
    return p.parse_args(argv)


def split(text: str, marker: str, fraction: float) -> tuple[str, str, str]:
    at = text.find(marker) if marker else -1
    if at > 0:
        return text[:at], text[at:], f"from {marker.splitlines()[0]!r} at char {at}"
    train, val = split_text(text, fraction)
    return train, val, f"last {fraction:.0%} at a blank line"


@torch.no_grad()
def evaluate(model: CharLM, batches: ContiguousBatches) -> tuple[float, int]:
    model.eval()
    model.on_eval_start()
    total, count = 0.0, 0
    for batch in batches:
        nats, n = model.sum_nats(batch)
        total += nats
        count += n
    model.train()
    model.reset_state()
    return total / count, count


def recurrent_share(model: CharLM, batches: ContiguousBatches, opt, steps: int) -> dict:
    """Share of self CPU time in the recurrent layer's ops, forward and backward."""
    from torch.profiler import ProfilerActivity, profile

    it = iter(batches)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            loss = model.compute_loss(next(it))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    total = rnn = 0.0
    for ev in prof.key_averages():
        t = ev.self_cpu_time_total
        total += t
        name = ev.key.lower()
        if "rnn" in name or "lstm" in name or "gru" in name:
            rnn += t
    return {"recurrent_share": rnn / total if total else float("nan"),
            "profiled_steps": steps}


def compare(args, train: ContiguousBatches, vocab: Vocab) -> dict:
    """Median chars/s of training steps on backend "torch" and on ``args.backend``, with
    the same weights and batches, interleaved (see the module doc)."""
    import statistics

    from rnnkit.nn import kernels

    kernels.available()  # built and loaded now, so that the split hook exists from step one
    splits = [s for s in args.split.split(",") if s]
    modes = {"auto": 0, "rows": 1, "units": 2}
    arms = {"torch": ("torch", None)}  # label: (backend, LSTM split mode of the fused loops)
    for s in splits:
        arms[args.backend if len(splits) == 1 else f"{args.backend}_{s}"] = (args.backend, modes[s])
    runs = {}
    for label, (backend, _) in arms.items():
        torch.manual_seed(args.seed)
        model = CharLM(len(vocab), args.embed, args.hidden, args.layers, args.cell, args.dropout,
                       backend=backend)
        model.on_epoch_start()
        runs[label] = (model, torch.optim.Adam(model.parameters(), lr=args.lr), [], [])
    batches = iter(train)
    load0 = os.getloadavg()[0]
    warmup = 2
    for step in range(args.compare + warmup):
        batch = next(batches)
        order = list(runs) if step % 2 == 0 else list(runs)[::-1]
        for backend in order:
            model, opt, times, cpu_times = runs[backend]
            split_mode = arms[backend][1]
            if split_mode is not None and hasattr(torch.ops.rnnkit, "_lstm_split_mode"):
                torch.ops.rnnkit._lstm_split_mode(split_mode)
            t0, c0 = time.perf_counter(), time.process_time()
            loss = model.compute_loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            if step >= warmup:
                times.append(time.perf_counter() - t0)
                cpu_times.append(time.process_time() - c0)
    chars = batch[1].numel()
    rate = {b: chars / statistics.median(t) for b, (_, _, t, _) in runs.items()}
    cpu = {b: chars / statistics.median(t) for b, (_, _, _, t) in runs.items()}
    if hasattr(torch.ops.rnnkit, "_lstm_split_mode"):
        torch.ops.rnnkit._lstm_split_mode(0)
    labels = [lb for lb in runs if lb != "torch"]
    rnn = runs[labels[0]][0].rnn
    with torch.enable_grad():
        path = rnn.resolved_backend() if hasattr(rnn, "resolved_backend") else args.backend
    out = {"event": "compare", "steps": args.compare, "chars_per_step": chars,
           "torch_chars_per_s": round(rate["torch"]), "cpu_torch_chars_per_s": round(cpu["torch"])}
    for lb in labels:
        suffix = "" if len(labels) == 1 else lb[len(args.backend):]
        out[f"{lb}_chars_per_s"] = round(rate[lb])
        out[f"ratio{suffix}"] = round(rate[lb] / rate["torch"], 3)
        out[f"cpu_{lb}_chars_per_s"] = round(cpu[lb])
        out[f"cpu_ratio{suffix}"] = round(cpu[lb] / cpu["torch"], 3)
    out.update({"path": path, "threads": torch.get_num_threads(), "load_avg_1min_before": load0,
                "load_avg_1min_after": os.getloadavg()[0]})
    return out


def main(argv=None) -> None:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = open(args.log, "a") if args.log else None

    def emit(record: dict) -> None:
        line = json.dumps(record)
        print(line, flush=True)
        if log:
            log.write(line + "\n")
            log.flush()

    text = read_corpus(args.data)
    train_text, val_text, how = split(text, args.val_from, args.val_fraction)
    vocab = Vocab.from_text(train_text)
    train_ids, _ = vocab.encode(train_text)
    val_ids, unseen = vocab.encode(val_text)
    train = ContiguousBatches(train_ids, args.batch_size, args.seq_len, name="train")
    val = ContiguousBatches(val_ids, 32, 256, name="validation")
    if args.compare:
        emit(compare(args, train, vocab))
        return
    model = CharLM(len(vocab), args.embed, args.hidden, args.layers, args.cell, args.dropout,
                   backend=args.backend)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    emit({"event": "start", "args": {k: str(v) for k, v in vars(args).items()},
          "split": how, "train_chars": len(train_text), "val_chars": len(val_text),
          "vocab": len(vocab), "val_unseen": dict(unseen),
          "params": sum(p.numel() for p in model.parameters()),
          "torch": torch.__version__, "threads": torch.get_num_threads()})

    budget = args.minutes * 60.0
    trained = 0.0  # seconds of training so far
    cpu_trained = 0.0  # CPU seconds this process spent training
    chars = 0
    next_eval = args.eval_every
    wall0 = time.perf_counter()
    passes = 0
    best = float("inf")
    done = False
    while not done:
        model.on_epoch_start()
        passes += 1
        for batch in train:
            t0 = time.perf_counter()
            c0 = time.process_time()
            frac = min(trained / budget, 1.0)
            lr_scale = args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac))
            for group in opt.param_groups:
                group["lr"] = args.lr * lr_scale
            loss = model.compute_loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            trained += time.perf_counter() - t0
            cpu_trained += time.process_time() - c0
            chars += batch[1].numel()
            if trained >= next_eval or trained >= budget:
                state = model.state
                nats, n = evaluate(model, val)
                model._state = state  # continue the training streams where they were
                best = min(best, nats / LN2)
                emit({"event": "eval", "train_minutes": round(trained / 60, 3),
                      "wall_minutes": round((time.perf_counter() - wall0) / 60, 3),
                      "chars_seen": chars, "chars_per_s": round(chars / trained),
                      "passes": passes, "train_loss_nats": round(float(loss.detach()), 4),
                      "val_nats_per_char": round(nats, 4), "val_bpc": round(nats / LN2, 4),
                      "val_chars_scored": n, "lr": opt.param_groups[0]["lr"],
                      # CPU time this process got, and the machine's load: on a shared
                      # machine chars / train_cpu_s is the rate an idle core would give.
                      "train_cpu_s": round(cpu_trained, 1), "load_avg_1min": os.getloadavg()[0]})
                next_eval += args.eval_every
                if trained >= budget:
                    done = True
                    break

    share = recurrent_share(model, train, opt, args.profile_steps)
    model.eval()
    sample = "".join(generate(model, vocab, prime="\n", length=args.sample_chars,
                              temperature=0.8, seed=args.seed))
    emit({"event": "end", "best_val_bpc": round(best, 4), "chars_seen": chars,
          "chars_per_s": round(chars / trained), "chars_per_cpu_s": round(chars / cpu_trained),
          **share, "sample_t0.8": sample})
    if log:
        log.close()


if __name__ == "__main__":
    sys.exit(main())

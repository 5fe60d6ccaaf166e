"""A seeded fuzzer for everything a user hands rnnkit: CSV, text, .ts, WAV and model folders.

Each case is a valid file mutated at random (bytes flipped, inserted, deleted or cut;
numbers swapped for extreme ones; lines duplicated; header fields changed). Each is fed
to the reader the CLI uses, and the contract is checked:

- it returns a result that passes the target's invariants (finite numbers, consistent
  shapes), or
- it raises an :class:`rnnkit.errors.RnnkitError` whose message is one line;
- anything else (another exception, a traceback, a hang past ``CASE_SECONDS``) is a
  failure. The run's peak memory is reported; the test bounds it and the address space.

Run as a script (``python fuzz.py TARGET SEED N WORKDIR``) it prints one JSON line:
``{"cases": N, "ok": .., "refused": .., "failures": [..], "slowest_s": .., "maxrss_mb": ..}``.
The same seed gives the same cases.
"""
from __future__ import annotations

import io
import json
import math
import random
import resource
import signal
import struct
import sys
import time
import traceback
from pathlib import Path

import numpy as np

CASE_SECONDS = 30  # a bound for hangs, far above any case's real time
EXTREMES = ["1e308", "-1e308", "1e39", "inf", "-inf", "nan", "NaN", "?", "", "0", "-0", "1e-320",
            "99999999999999999999", "0x1f", "1_000", "\x1b[31m", "\u00e9", "\x00", '"', ",", "\n"]
TARGETS = ("csv", "text", "ts", "wav", "model")


class Hang(Exception):
    pass


# ---------------------------------------------------------------------------- mutation


def mutate_bytes(rng: random.Random, data: bytes, rounds: int = 3) -> bytes:
    """A few random byte-level edits: flip, insert, delete, cut, duplicate a slice."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        op = rng.choice(["flip", "insert", "delete", "cut", "dup"])
        at = rng.randrange(len(buf) + 1) if buf else 0
        if op == "flip" and buf:
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == "insert":
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == "delete" and buf:
            del buf[at : at + rng.randint(1, 16)]
        elif op == "cut":
            del buf[at:]
        elif op == "dup" and buf:
            buf[at:at] = buf[at : at + rng.randint(1, 64)]
    return bytes(buf)


def mutate_tokens(rng: random.Random, text: str, seps: str = ",:\n") -> str:
    """Replace a few tokens (between separators) with extreme or broken values."""
    pieces, token = [], ""
    for ch in text:
        if ch in seps:
            pieces.extend([token, ch])
            token = ""
        else:
            token += ch
    pieces.append(token)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(0, len(pieces), 2) if len(pieces) > 1 else 0
        pieces[i] = rng.choice(EXTREMES)
    return "".join(pieces)


def mutate_text(rng: random.Random, text: str) -> bytes:
    if rng.random() < 0.5:
        return mutate_tokens(rng, text).encode("utf-8", errors="surrogatepass")
    return mutate_bytes(rng, text.encode())


# ----------------------------------------------------------------------------- targets


def _csv_seed(rng: random.Random) -> str:
    n = rng.randint(2, 40)
    dated = rng.random() < 0.5
    rows = [f"{'2020-01-%02d' % (i % 28 + 1) if dated and n <= 28 else i},{math.sin(i) * 10:.3f},{i % 3}"
            for i in range(n)]
    return "t,y,x\n" + "\n".join(rows) + "\n"


def run_csv(rng: random.Random, work: Path):
    from rnnkit.data.timeseries import FLOAT32_MAX, read_series

    path = work / "case.csv"
    path.write_bytes(mutate_text(rng, _csv_seed(rng)))
    series = read_series(path, None, "t", missing=rng.choice(["error", "interpolate", "ffill"]))
    for s in series:
        assert np.isfinite(s.values).all() and (np.abs(s.values) <= FLOAT32_MAX).all(), "non-finite values"
        assert len(s.time) == len(s.values), "time and values differ in length"


def run_text(rng: random.Random, work: Path):
    from rnnkit.data.text import Vocab, read_corpus

    path = work / "case.txt"
    path.write_bytes(mutate_text(rng, "First Citizen:\nBefore we proceed any further, hear me speak.\n\n" * 3))
    text = read_corpus(path)
    assert text.strip(), "empty corpus accepted"
    vocab = Vocab.from_text(text) if hasattr(Vocab, "from_text") else None
    if vocab is not None:
        ids, _ = vocab.encode(text)
        assert len(ids) == len(text)


def _ts_seed(rng: random.Random) -> str:
    cases = [",".join(f"{rng.gauss(0, 1):.3f}" for _ in range(rng.randint(1, 12))) + f":{rng.choice('ab')}"
             for _ in range(rng.randint(1, 5))]
    return "@problemName p\n@univariate true\n@missing true\n@classLabel true a b\n@data\n" + "\n".join(cases) + "\n"


def run_ts(rng: random.Random, work: Path):
    from rnnkit.data.ts_format import FLOAT32_MAX, MAX_LENGTH, read_ts

    path = work / "case.ts"
    path.write_bytes(mutate_text(rng, _ts_seed(rng)))
    data = read_ts(path)
    for x in data.series:
        finite = x[~np.isnan(x)]
        assert (np.abs(finite) <= FLOAT32_MAX).all() and not np.isinf(x).any(), "non-finite value"
        assert 1 <= x.shape[0] <= MAX_LENGTH, "case length out of bounds"


def _wav_seed(rng: random.Random) -> bytes:
    from scipy.io import wavfile

    buf = io.BytesIO()
    rate = rng.choice([8000, 16000, 44100])
    wavfile.write(buf, rate, (np.sin(np.arange(rng.randint(1, 2000)) / 5) * 3000).astype(np.int16))
    return buf.getvalue()


def run_wav(rng: random.Random, work: Path):
    from rnnkit.data.audio import AudioConfig, wav_features

    data = bytearray(_wav_seed(rng))
    if rng.random() < 0.6:  # a header field (rate, channels, bits, sizes) set to an odd value
        field = rng.choice([(22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"), (40, "<I"), (4, "<I")])
        value = rng.choice([0, 1, 2, 3, 255, 65535, 2**31 - 1, 2**32 - 1, 999, 1000, 384000, 10**7])
        struct.pack_into(field[1], data, field[0], value % (2 ** (8 * struct.calcsize(field[1]))))
    else:
        data = bytearray(mutate_bytes(rng, bytes(data)))
    path = work / "case.wav"
    path.write_bytes(bytes(data))
    feats = wav_features(path, AudioConfig())
    assert feats.ndim == 2 and np.isfinite(feats).all(), "features not finite"


def run_model(rng: random.Random, work: Path):
    """A classifier or a character-LM folder with model.json or the weights mutated."""
    import shutil

    from rnnkit.tasks.classify.pipeline import load_classifier
    from rnnkit.tasks.text.pipeline import load_charlm
    from tests.export.helpers import charlm_dir, classifier_dir

    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    if rng.random() < 0.5:
        classifier_dir(run)
        folder, load = run / "model", lambda: load_classifier(run)[0]
    else:
        folder, load = charlm_dir(run), lambda: load_charlm(run)[0]
    which = rng.choice(["model.json", "model.json", "model.safetensors"])
    path = folder / which
    if which == "model.json" and rng.random() < 0.6:
        info = json.loads(path.read_text())
        table = info["model"] if isinstance(info.get("model"), dict) else info
        key = rng.choice(sorted(table))
        table[key] = rng.choice([0, -1, 10**9, 10**7, 2**63, 1.5, "x", None, [], {}, True, 7, 5])
        path.write_text(json.dumps(info))
    elif which == "model.safetensors" and rng.random() < 0.5:  # edit the header's JSON
        raw = path.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        header = mutate_tokens(rng, raw[8 : 8 + n].decode(), seps=',:[]{}"').encode()
        path.write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n :])
    else:
        path.write_bytes(mutate_bytes(rng, path.read_bytes()))
    model = load()
    assert all(bool(t.isfinite().all()) for t in model.state_dict().values() if t.is_floating_point())


RUNNERS = {"csv": run_csv, "text": run_text, "ts": run_ts, "wav": run_wav, "model": run_model}


# ------------------------------------------------------------------------------ driver


def _alarm(signum, frame):
    raise Hang(f"no answer in {CASE_SECONDS} s")


def fuzz(target: str, seed: int, n: int, work: Path) -> dict:
    """Run ``n`` cases of ``target`` from ``seed``; the report holds every contract failure."""
    from rnnkit.errors import RnnkitError

    work.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, _alarm)
    report = {"target": target, "seed": seed, "cases": n, "ok": 0, "refused": 0, "failures": [], "slowest_s": 0.0}
    for i in range(n):
        rng = random.Random(f"{target}-{seed}-{i}")
        start = time.perf_counter()
        signal.alarm(CASE_SECONDS)
        try:
            RUNNERS[target](rng, work)
            report["ok"] += 1
        except RnnkitError as err:
            if "\n" in str(err) or not str(err):
                report["failures"].append({"case": i, "error": f"not one line: {str(err)!r}"})
            report["refused"] += 1
        except Exception as err:  # the contract is broken: record the traceback's last lines
            tb = traceback.format_exc().strip().splitlines()[-4:]
            report["failures"].append({"case": i, "error": f"{type(err).__name__}: {err}"[:300], "tb": tb})
        finally:
            signal.alarm(0)
        report["slowest_s"] = max(report["slowest_s"], round(time.perf_counter() - start, 3))
    report["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


if __name__ == "__main__":
    target, seed, n, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    print(json.dumps(fuzz(target, seed, n, work)))

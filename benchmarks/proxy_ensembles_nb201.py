"""Proxy ensembles on NAS-Bench-201 from NAS-Bench-Suite-Zero's precomputed proxy values (CIFAR-10).

Usage: python -P benchmarks/proxy_ensembles_nb201.py [--labels 400] [--seeds 10] [--ours]

Features: the 13 zero-cost values NAS-Bench-Suite-Zero reports per cell (epe_nas, fisher, flops,
grad_norm, grasp, jacov, l2_norm, nwot, params, plain, snip, synflow, zen), shipped in nasir's NB201
table for the 9,445 cells without unreachable ops; label: NASLib's ``cifar10-valid`` validation accuracy
(the column its correlations use). Reports Spearman rho on all cells for every single proxy, the
unlearned rank ensembles (TE-NAS sum of ranks, AZ-NAS sum of log ranks) of chosen proxy sets, and the
learned combination: gradient-boosted trees (``nasir.predictors.BoostedTrees``) trained on ``--labels``
labelled cells, scored on the rest, mean +- std over ``--seeds`` draws. Published: XGBoost on the
13 proxies with 400 labels, rho 0.941 (NAS-Bench-Suite-Zero). Writes benchmarks/results/proxy_ensembles_nb201.json.

``--ours`` adds the same learned combination on *our* 13 proxy scores of the 1,000-architecture
standard sample (``proxies_nb201.py`` rows: the six classic zero-cost proxies, NASWOT, MeCo, AZ-NAS's
three terms, params, FLOPs): trained on ``--labels`` of the 1,000, scored on the rest, plus a like for
like with NASLib's values on the sampled cells both cover (same splits, half of them labelled).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

from nasir.machine import cpu_label
from nasir.predictors import BoostedTrees
from nasir.proxy_ensembles import rank_ensemble
from nasir.proxy_math import spearman
from nasir.spaces.nb201_bench import NB201Benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import RESULTS, merged_rows, sample_rows  # noqa: E402

ZC = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "plain", "snip", "synflow")
SETS = {"nwot+synflow": ("nwot", "synflow"), "nwot+synflow+jacov": ("nwot", "synflow", "jacov"),
        "nwot+synflow+flops": ("nwot", "synflow", "flops"), "nwot+synflow+jacov+zen+flops": ("nwot", "synflow", "jacov", "zen", "flops")}


def features(bench: NB201Benchmark) -> tuple[dict[str, np.ndarray], np.ndarray]:
    scored = ~np.isnan(bench.column("cifar10", "zc_nwot"))
    cols = {p: bench.column("cifar10", f"zc_{p}")[scored] for p in ZC}
    cols |= {"zen": bench.column("cifar10", "zc_zen")[scored], "params": bench.column("cifar10", "params")[scored],
             "flops": bench.column("cifar10", "flops")[scored]}
    return cols, bench.column("cifar10-valid", "naslib_val_acc")[scored]


OURS = ("naswot", "jacob_cov", "synflow", "snip", "grad_norm", "fisher", "grasp", "meco", "params", "flops",
        "az_expressivity", "az_progressivity", "az_trainability")
CLASSIC = ("naswot", "jacob_cov", "synflow", "snip", "grad_norm", "fisher", "grasp", "params", "flops")
OUR_ROWS = sample_rows("a", "az", "grasp")


def our_features(paths: tuple[Path, ...] = OUR_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Official indices and the (archs x OURS) score matrix; -inf (constant-output cells) becomes NaN,
    which the trees route as a value of its own."""
    rows = merged_rows(paths)
    index = np.array(sorted(rows))
    X = np.array([[float(rows[i][name]) for name in OURS] for i in index])
    X[~np.isfinite(X)] = np.nan
    return index, X


def learned_rho(X: np.ndarray, y: np.ndarray, cells: np.ndarray, labels: int, seeds: int) -> tuple[float, float]:
    """Mean and std over ``seeds`` draws of Spearman on the unlabelled ``cells`` after training on ``labels`` of them."""
    rhos = []
    for seed in range(seeds):
        train = np.random.default_rng(seed).choice(cells, size=labels, replace=False)
        test = np.setdiff1d(cells, train)
        rhos.append(spearman(BoostedTrees(seed=seed).fit(X[train], y[train]).predict(X[test]), y[test]))
    return round(float(np.mean(rhos)), 4), round(float(np.std(rhos)), 4)


def ours_section(bench: NB201Benchmark, labels: int, seeds: int) -> dict:
    index, X = our_features()
    every = np.arange(len(index))
    learned = {}
    for name, column in (("naslib_cifar10valid_val_acc", ("cifar10-valid", "naslib_val_acc")),
                         ("cifar10valid_test_acc", ("cifar10-valid", "test_acc")), ("cifar10_test_acc", ("cifar10", "test_acc")),
                         ("cifar100_test_acc", ("cifar100", "test_acc")), ("imagenet16_test_acc", ("ImageNet16-120", "test_acc"))):
        learned[name] = learned_rho(X, bench.column(*column)[index], every, labels, seeds)
    y = bench.column("cifar10-valid", "naslib_val_acc")[index]
    classic = learned_rho(X[:, [OURS.index(p) for p in CLASSIC]], y, every, labels, seeds)
    naslib, _ = features_at(bench, index)
    shared = np.flatnonzero(~np.isnan(naslib[:, 0]))
    half = len(shared) // 2
    return {"rows": [str(p.relative_to(RESULTS.parent.parent)) for p in OUR_ROWS], "archs": int(len(index)),
            "features": list(OURS), "labels": labels, "learned_all13": learned, "learned_classic9_naslib_label": classic,
            "like_for_like": {"cells": int(len(shared)), "labels": half,
                              "ours": learned_rho(X, y, shared, half, seeds), "naslib_values": learned_rho(naslib, y, shared, half, seeds)}}


def features_at(bench: NB201Benchmark, index: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """NASLib's 13 values (NaN where NAS-Bench-Suite-Zero has none) at the given official indices."""
    names = (*ZC, "zen", "params", "flops")
    columns = {p: bench.column("cifar10", f"zc_{p}") for p in (*ZC, "zen")} | {p: bench.column("cifar10", p) for p in ("params", "flops")}
    return np.stack([columns[p][index] for p in names], axis=1), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--ours", action="store_true", help="also learn on our scores of the 1,000-architecture sample")
    parser.add_argument("--out", type=Path, default=RESULTS / "proxy_ensembles_nb201.json")
    args = parser.parse_args()
    bench = NB201Benchmark.default()
    cols, y = features(bench)
    single = {name: round(spearman(v, y), 4) for name, v in cols.items()}
    ensembles = {f"{method}({name})": round(spearman(rank_ensemble({p: cols[p] for p in members}, method=method), y), 4)
                 for name, members in SETS.items() for method in ("sum", "log")}
    X = np.stack([cols[k] for k in sorted(cols)], axis=1)
    mean, std = learned_rho(X, y, np.arange(len(y)), args.labels, args.seeds)
    flag = " --ours" if args.ours else ""
    result = {"meta": {"command": f"python -P benchmarks/proxy_ensembles_nb201.py --labels {args.labels} --seeds {args.seeds}{flag}",
                       "date": datetime.date.today().isoformat(), "machine": cpu_label(), "cells": int(len(y)),
                       "label": "naslib_cifar10valid_val_acc"},
              "single": single, "rank_ensembles": ensembles,
              "learned_boosted_trees": {"features": sorted(cols), "labels": args.labels, "mean": mean,
                                        "std": std, "published_xgboost": 0.941}}
    if args.ours:
        result["learned_on_our_proxies"] = ours_section(bench, args.labels, args.seeds)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

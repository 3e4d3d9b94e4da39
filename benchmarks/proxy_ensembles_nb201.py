"""Proxy ensembles on NAS-Bench-201 from NAS-Bench-Suite-Zero's precomputed proxy values (CIFAR-10).

Usage: python -P benchmarks/proxy_ensembles_nb201.py [--labels 400] [--seeds 10]

Features: the 13 zero-cost values NAS-Bench-Suite-Zero reports per cell (epe_nas, fisher, flops,
grad_norm, grasp, jacov, l2_norm, nwot, params, plain, snip, synflow, zen), shipped in nasir's NB201
table for the 9,445 cells without unreachable ops; label: NASLib's ``cifar10-valid`` validation accuracy
(the column its correlations use). Reports Spearman rho on all cells for every single proxy, the
unlearned rank ensembles (TE-NAS sum of ranks, AZ-NAS sum of log ranks) of chosen proxy sets, and the
learned combination: gradient-boosted trees (``nasir.predictors.BoostedTrees``) trained on ``--labels``
labelled cells, scored on the rest, mean +- std over ``--seeds`` draws. Published: XGBoost on the
13 proxies with 400 labels, rho 0.941 (NAS-Bench-Suite-Zero). Writes benchmarks/results/proxy_ensembles_nb201.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import numpy as np

from nasir.machine import cpu_label
from nasir.predictors import BoostedTrees
from nasir.proxy_ensembles import rank_ensemble
from nasir.proxy_math import spearman
from nasir.spaces.nb201_bench import NB201Benchmark

ZC = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "plain", "snip", "synflow")
SETS = {"nwot+synflow": ("nwot", "synflow"), "nwot+synflow+jacov": ("nwot", "synflow", "jacov"),
        "nwot+synflow+flops": ("nwot", "synflow", "flops"), "nwot+synflow+jacov+zen+flops": ("nwot", "synflow", "jacov", "zen", "flops")}


def features(bench: NB201Benchmark) -> tuple[dict[str, np.ndarray], np.ndarray]:
    scored = ~np.isnan(bench.column("cifar10", "zc_nwot"))
    cols = {p: bench.column("cifar10", f"zc_{p}")[scored] for p in ZC}
    cols |= {"zen": bench.column("cifar10", "zc_zen")[scored], "params": bench.column("cifar10", "params")[scored],
             "flops": bench.column("cifar10", "flops")[scored]}
    return cols, bench.column("cifar10-valid", "naslib_val_acc")[scored]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "proxy_ensembles_nb201.json")
    args = parser.parse_args()
    cols, y = features(NB201Benchmark.default())
    single = {name: round(spearman(v, y), 4) for name, v in cols.items()}
    ensembles = {f"{method}({name})": round(spearman(rank_ensemble({p: cols[p] for p in members}, method=method), y), 4)
                 for name, members in SETS.items() for method in ("sum", "log")}
    X = np.stack([cols[k] for k in sorted(cols)], axis=1)
    learned = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        train = rng.choice(len(y), size=args.labels, replace=False)
        test = np.setdiff1d(np.arange(len(y)), train)
        model = BoostedTrees(seed=seed).fit(X[train], y[train])
        learned.append(spearman(model.predict(X[test]), y[test]))
    result = {"meta": {"command": f"python -P benchmarks/proxy_ensembles_nb201.py --labels {args.labels} --seeds {args.seeds}",
                       "date": datetime.date.today().isoformat(), "machine": cpu_label(), "cells": int(len(y)),
                       "label": "naslib_cifar10valid_val_acc"},
              "single": single, "rank_ensembles": ensembles,
              "learned_boosted_trees": {"features": sorted(cols), "labels": args.labels, "mean": round(float(np.mean(learned)), 4),
                                        "std": round(float(np.std(learned)), 4), "published_xgboost": 0.941}}
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

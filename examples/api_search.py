"""Training-free NAS with the Python API: a zero-cost proxy steers the search, NB201 ground truth judges it.

    python examples/api_search.py [--trials 100] [--strategy rea] [--seed 0] [--storage api_search.db]

The study, the strategy and the ground truth are framework-free; the proxy is the one place a
framework enters (PyTorch here, through ``nasir.frontends.torch.proxies``), so scoring with
another frontend, or measuring on ONNX, means changing ``ProxyAndTruth.__call__`` only. Every
trial is committed to the study file (run it again and it resumes); the HTML report is written
beside it. Needs ``pip install 'nasir[torch,viz]'``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch

from nasir.data import load_sample
from nasir.frontends.torch.proxies import ProxyWarning, score_network
from nasir.ir import Arch
from nasir.objectives import FunctionObjective, TabularObjective
from nasir.proxy_math import spearman
from nasir.report import load_study, write_report
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study

PROXIES = ("meco", "synflow")  # the first is optimised; both are recorded


class ProxyAndTruth:
    """``arch -> metrics``: proxy scores (CIFAR-10 sample, seeded) and the benchmark's accuracies.

    A module-level class, so ``ProcessPoolExecutor`` could send it to worker processes.
    """

    def __init__(self, seed: int) -> None:
        self.seed, self.data = seed, load_sample()
        self.truth = TabularObjective(NB201Benchmark.default(), space)

    def __call__(self, arch: Arch) -> dict[str, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyWarning)  # a constant-output cell scores -inf: the trial fails, the search goes on
            scores = score_network(space.network(arch), PROXIES, self.data, seed=self.seed, catch=True)
        return {**{f"proxy/{p}": v for p, v in scores.items()}, **self.truth.evaluate(arch)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--strategy", default="rea")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage", type=Path, default=Path("api_search.db"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # more threads than free cores makes torch spin, many times slower

    directions = {f"proxy/{p}": "maximize" for p in PROXIES} | {m: "maximize" for m in ("cifar10-valid/valid_acc", "cifar10/test_acc")}
    objective = FunctionObjective(ProxyAndTruth(args.seed), primary=f"proxy/{PROXIES[0]}", directions=directions, name="example:meco")
    study = Study.open(args.storage, space, make_strategy(args.strategy, space), objective, seed=args.seed)
    best = study.optimize(budget_evals=args.trials)

    record = load_study(args.storage)
    evaluated = [t for t in record.trials if t.duplicate_of is None and t.value("cifar10/test_acc") is not None]
    proxy = np.array([t.metrics[objective.primary] for t in evaluated])
    truth = np.array([t.metrics["cifar10/test_acc"] for t in evaluated])
    column = NB201Benchmark.default().column("cifar10", "test_acc")
    rank = int((column > best.metrics["cifar10/test_acc"]).sum()) + 1
    print(f"best of {len(study)} trials by {objective.primary}: {space.format(best.arch)}")
    print(f"  ground truth: CIFAR-10 test {best.metrics['cifar10/test_acc']:.2f}% (rank {rank} of {len(column)}, "
          f"best in the space {column.max():.2f}%)")
    print(f"  Spearman rho of {objective.primary} vs test accuracy over the {len(evaluated)} evaluated cells: "
          f"{spearman(proxy, truth):.3f}")
    print(f"  report: {write_report(record, args.storage.with_suffix('.html'))}")


if __name__ == "__main__":
    main()

"""A study run as its own process (killed and resumed by tests/study/test_resume.py).

Usage: python _study_script.py DB N_TRIALS SLEEP_SECONDS
"""

from __future__ import annotations

import sys
import time

from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study


class SlowTabular(TabularObjective):
    """A tabular objective that takes a while, so the test can kill the process mid-trial."""

    def __init__(self, pause: float) -> None:
        super().__init__(NB201Benchmark.default())
        self.pause = pause

    def evaluate(self, arch):
        time.sleep(self.pause)
        return super().evaluate(arch)


if __name__ == "__main__":
    db, n_trials, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    study = Study.open(db, space, make_strategy("rea", space), SlowTabular(pause), seed=7)
    study.optimize(n_trials)
    print("done", len(study.trials))

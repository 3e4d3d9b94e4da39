"""Module-level objectives for the study tests (importable by worker and study processes)."""

from __future__ import annotations

import math
import os
import time

from nasir.objectives import TabularObjective
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark

BENCH = NB201Benchmark.default()


class Logged(TabularObjective):
    """A tabular objective that appends ``pid hash start-time`` to a file for each evaluation and may sleep (to be killed
    mid-trial)."""

    def __init__(self, log: str | None = None, pause: float = 0.0) -> None:
        super().__init__(BENCH, space)
        self.log, self.pause = log, pause

    def evaluate(self, arch):
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()} {arch.canonical_hash()} {time.time()}\n")
        time.sleep(self.pause)
        return super().evaluate(arch)


class Flaky(TabularObjective):
    """Raises for cells whose first edge is a 1x1 conv, returns NaN for those whose first edge is a pool."""

    def __init__(self) -> None:
        super().__init__(BENCH, space)

    def evaluate(self, arch):
        first = space.to_ops(arch)[0]
        if first == "nor_conv_1x1":
            raise RuntimeError("simulated out-of-memory")
        metrics = super().evaluate(arch)
        if first == "avg_pool_3x3":
            metrics[self.primary] = math.nan
        return metrics


class Hangs(TabularObjective):
    """Never finishes cells whose first edge is ``none`` (a hung training, say), creating the file ``mark`` (if given)
    as it hangs; the others are table look-ups."""

    def __init__(self, mark: str | None = None) -> None:
        super().__init__(BENCH, space)
        self.mark = mark

    def evaluate(self, arch):
        if space.to_ops(arch)[0] == "none":
            if self.mark:
                open(self.mark, "w").close()
            self.misbehave()
        return super().evaluate(arch)

    def misbehave(self) -> None:
        time.sleep(3600)


class SlowToLoad(Hangs):
    """Takes ``load`` seconds to unpickle, as an objective that imports a big framework in a new worker does; it hangs
    on the cells :class:`Hangs` hangs on, and looks the others up at once."""

    def __init__(self, load: float = 3.0) -> None:
        super().__init__()
        self.load = load

    def __setstate__(self, state: dict) -> None:
        time.sleep(state["load"])
        self.__dict__.update(state)


class Crashes(Hangs):
    """Ends its worker process abruptly where :class:`Hangs` hangs (as the kernel's OOM killer or a crash in native code
    would). Only for worker processes: in-process it would end the test run."""

    def misbehave(self) -> None:
        os._exit(9)


class CrashesBeside:
    """Takes ``pause`` seconds over each cell, logging as :class:`Logged` does, and scores it by its count of ops that
    are not ``none``; on cells whose first edge is ``none`` it waits until ``beside`` evaluations have started (as the
    log shows), then ends its worker abruptly, so that exactly those are in flight when it dies. Holds no table, so
    that workers start quickly. Only for worker processes."""

    primary = "ops"

    def __init__(self, log: str, pause: float, beside: int = 2) -> None:
        self.log, self.pause, self.beside = log, pause, beside

    def evaluate(self, arch):
        ops = space.to_ops(arch)
        if ops[0] == "none":
            deadline = time.time() + 60
            while time.time() < deadline and len(_lines(self.log)) < self.beside:
                time.sleep(0.05)
            os._exit(9)
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()} {arch.canonical_hash()} {time.time()}\n")
        time.sleep(self.pause)
        return {"ops": float(sum(op != "none" for op in ops))}


def _lines(path: str) -> list[str]:
    return open(path).read().splitlines() if os.path.exists(path) else []


class MissingInWorkers(TabularObjective):
    """Cannot be unpickled (as an objective whose plugin module is installed here but not where the workers run)."""

    def __init__(self) -> None:
        super().__init__(BENCH, space)

    def __setstate__(self, state: dict) -> None:
        raise ModuleNotFoundError("No module named 'missing_plugin'")

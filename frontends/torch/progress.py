"""A progress display for training: a ``rich`` bar when ``rich`` is installed, else log lines."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

__all__ = ["Progress"]

log = logging.getLogger("nasir.frontends.torch.train")


class Progress:
    """Context manager with ``advance()`` per step and ``epoch_done(record)`` per epoch.

    Args:
        enabled: False shows nothing (search loops train many small models).
        total_epochs: epochs of the schedule.
        steps: steps per epoch.
        start_epoch: epochs already done (a resumed run).
    """

    def __init__(self, *, enabled: bool, total_epochs: int, steps: int, start_epoch: int = 0) -> None:
        self.enabled, self.total_epochs, self.steps = enabled, total_epochs, steps
        self.epoch = start_epoch
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        try:
            import rich.progress as rp
        except ImportError:
            return self
        self._bar = rp.Progress(rp.TextColumn("[bold]{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                                rp.TimeElapsedColumn(), rp.TimeRemainingColumn(), rp.TextColumn("{task.fields[info]}"))
        self._bar.__enter__()
        total = self.steps * (self.total_epochs - self.epoch)
        self._task = self._bar.add_task(f"epoch {self.epoch + 1}/{self.total_epochs}", total=total, info="")
        return self

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def epoch_done(self, record: dict[str, float]) -> None:
        self.epoch = int(record["epoch"])
        text = " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch")
        if self._bar is not None:
            self._bar.update(self._task, description=f"epoch {min(self.epoch + 1, self.total_epochs)}/{self.total_epochs}", info=text)
        elif self.enabled:
            log.info("epoch %d/%d %s", self.epoch, self.total_epochs, text)

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, err, tb)

"""One small interface for long work: the CLI draws a bar, a Celery task updates its state."""

from __future__ import annotations

import sys
from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None:
        """``done`` of ``total`` items of ``stage`` are finished."""


def no_progress(stage: str, done: int, total: int) -> None:
    return None


class TqdmProgress:
    """A tqdm bar per stage, with rate and ETA, on stderr."""

    def __init__(self, unit: str = "img") -> None:
        self.unit = unit
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit=self.unit, file=sys.stderr,
                            dynamic_ncols=True, disable=None)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

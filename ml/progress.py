"""One small interface for long work: the CLI draws a bar, a Celery task updates its state."""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None:
        """``done`` of ``total`` items of ``stage`` are finished."""


def no_progress(stage: str, done: int, total: int) -> None:
    return None


class TqdmProgress:
    """A tqdm bar per stage, with rate and ETA, on stderr; in a log file (not a terminal), a
    plain line every ``LOG_EVERY`` seconds instead, so long work is never silent."""

    LOG_EVERY = 30.0

    def __init__(self, unit: str = "img") -> None:
        self.unit = unit
        self.bar = None
        self.stage = None
        self.started = self.logged = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            self._log(stage, done, total)
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit=self.unit, file=sys.stderr,
                            dynamic_ncols=True, disable=None)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def _log(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            self.stage, self.started, self.logged = stage, now, 0.0
        if done < total and now - self.logged < self.LOG_EVERY:
            return
        self.logged = now
        line = f"{stage}: {done}/{total} {self.unit}"
        if now - self.started >= 1 and done:
            rate = done / (now - self.started)
            eta = f", about {(total - done) / rate / 60:.0f} min left" if done < total else ""
            line += f" ({rate:.1f} {self.unit}/s{eta})"
        print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

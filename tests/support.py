"""Helpers shared by the tests (imported; fixtures live in conftest.py): real photos from
../shared/data and the `lookalike` command run as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ml.paths import data_dir

LFW = data_dir() / "lfw"


def lfw(name: str, n: int = 1) -> Path:
    return LFW / name / f"{name}_{n:04d}.jpg"


def lookalike(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml.cli", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


def enrol(folder: Path, people: list[str], photos=range(2, 7)) -> Path:
    """Copy LFW photos 2..6 of each person into folder/Person/ (photo 1 is held out)."""
    for person in people:
        (folder / person).mkdir(parents=True, exist_ok=True)
        for n in photos:
            shutil.copy(lfw(person, n), folder / person)
    return folder

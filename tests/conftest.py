"""Shared fixtures: real photos from ../shared/data, nothing synthetic where a photo will do."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.paths import data_dir

LFW = data_dir() / "lfw"


def lfw(name: str, n: int = 1) -> Path:
    return LFW / name / f"{name}_{n:04d}.jpg"


@pytest.fixture(scope="session")
def lfw_photo():
    return lfw

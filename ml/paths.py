"""Where Lookalike keeps what it downloads and builds (weights, galleries).

Everything lives under one home directory so a user can see, move or delete it:
``$LOOKALIKE_HOME`` if set, else the platform's user cache dir (``~/.cache/lookalike`` on Linux).
"""

from __future__ import annotations

from pathlib import Path

from ml.settings import settings


def home() -> Path:
    """The Lookalike home directory (created on first use)."""
    path = settings().home
    path.mkdir(parents=True, exist_ok=True)
    return path


def weights_dir() -> Path:
    path = home() / "weights"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The shared research datasets (``../shared/data`` beside the checkout unless configured)."""
    return settings().data

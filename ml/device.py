"""Which torch device models run on: CUDA when present, CPU otherwise (``LOOKALIKE_DEVICE``)."""

from __future__ import annotations

import torch

from ml.settings import settings


def default_device() -> torch.device:
    wanted = settings().device
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

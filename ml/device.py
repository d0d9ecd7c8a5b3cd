"""Which torch device models run on: CUDA when present, CPU otherwise (``LOOKALIKE_DEVICE``)."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    wanted = os.environ.get("LOOKALIKE_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

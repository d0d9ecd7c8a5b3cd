"""Which torch device models run on: CUDA when present, CPU otherwise (``LOOKALIKE_DEVICE``)."""

from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING

from ml.settings import settings

if TYPE_CHECKING:
    import torch


def default_device() -> torch.device:
    import torch

    wanted = settings().device
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU it may use, asked of the driver's management
    library (NVML) without loading torch or making a CUDA context: the web app routes work by
    it and stays small. ``CUDA_VISIBLE_DEVICES`` set empty (or -1) hides every GPU, as for torch.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:  # no NVIDIA driver here
        return False
    count = ctypes.c_uint(0)
    if nvml.nvmlInit_v2() != 0:
        return False
    try:
        return nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 and count.value > 0
    finally:
        nvml.nvmlShutdown()

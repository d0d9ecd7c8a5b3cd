"""dlib's ResNet-34 face embedder (``dlib_face_recognition_resnet_model_v1``) in PyTorch.

A line-by-line port of face-api's ``FaceRecognitionNet`` (src/faceRecognitionNet/*.ts), which is
itself a port of dlib's network: 150x150 RGB in, 128-d descriptor out. TensorFlow's ``valid``
padding and the zero row/column face-api appends when a downsampling branch comes out one pixel
short are reproduced exactly, so the weights mean the same thing here as in dlib.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MEAN_RGB = (122.782, 117.001, 104.298)


class ConvScale(nn.Module):
    """conv → per-channel affine (dlib's ``affine`` layer) → optional ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, relu: bool) -> None:
        super().__init__()
        padding = kernel // 2 if stride == 1 else 0  # TF 'same' at stride 1, 'valid' at stride 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding)
        self.scale = nn.Conv2d(cout, cout, 1, groups=cout)  # y = x * weight + bias per channel
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.scale(self.conv(x))
        return F.relu(x) if self.relu else x


class Residual(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        self.conv1 = ConvScale(cin, cout, 3, 2 if down else 1, relu=True)
        self.conv2 = ConvScale(cout, cout, 3, 1, relu=False)
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        if self.down:
            x = F.avg_pool2d(x, 2, 2)
            # face-api: pad the conv branch with a zero row/column at the end when it is short
            dh, dw = x.shape[2] - out.shape[2], x.shape[3] - out.shape[3]
            if dh or dw:
                out = F.pad(out, (0, dw, 0, dh))
            if x.shape[1] != out.shape[1]:  # channel growth: identity padded with zero channels
                x = F.pad(x, (0, 0, 0, 0, 0, out.shape[1] - x.shape[1]))
        return F.relu(out + x)


class DlibResNet(nn.Module):
    """150x150 aligned face chips (uint8 RGB, NHWC) → 128-d descriptors (not normalised)."""

    layout = [  # (name, in, out, downsample) after the 7x7 stem, as in face-api
        ("conv32_1", 32, 32, False), ("conv32_2", 32, 32, False), ("conv32_3", 32, 32, False),
        ("conv64_down", 32, 64, True), ("conv64_1", 64, 64, False), ("conv64_2", 64, 64, False),
        ("conv64_3", 64, 64, False), ("conv128_down", 64, 128, True),
        ("conv128_1", 128, 128, False), ("conv128_2", 128, 128, False),
        ("conv256_down", 128, 256, True), ("conv256_1", 256, 256, False),
        ("conv256_2", 256, 256, False), ("conv256_down_out", 256, 256, True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conv32_down = ConvScale(3, 32, 7, 2, relu=True)
        for name, cin, cout, down in self.layout:
            self.add_module(name, Residual(cin, cout, down))
        self.fc = nn.Linear(256, 128, bias=False)
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1), persistent=False)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        x = (chips.permute(0, 3, 1, 2).float() - self.mean) / 255.0
        x = F.max_pool2d(self.conv32_down(x), 3, 2)
        for name, *_ in self.layout:
            x = getattr(self, name)(x)
        return self.fc(x.mean(dim=(2, 3)))

    @classmethod
    def from_face_api(cls, state: dict[str, torch.Tensor]) -> DlibResNet:
        """Build from the tensors ``ml.weights`` converted (face-api names, OIHW kernels)."""
        model = cls()
        mapped = {}
        for key, value in state.items():
            if key == "fc":
                mapped["fc.weight"] = value.t().contiguous()
                continue
            prefix, kind, param = key.rsplit(".", 2)
            if kind == "conv":
                mapped[f"{prefix}.conv.{'weight' if param == 'filters' else 'bias'}"] = value
            else:  # scale.weights / scale.biases -> depthwise 1x1 conv
                if param == "weights":
                    mapped[f"{prefix}.scale.weight"] = value.view(-1, 1, 1, 1)
                else:
                    mapped[f"{prefix}.scale.bias"] = value
        model.load_state_dict(mapped)
        return model.eval()

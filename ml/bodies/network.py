"""The body re-identification network: MobileNetV2 (ImageNet-initialised when trained) on a
256x128 person crop, generalised-mean pooling, a 256-d embedding.

Small on purpose: a crop costs a few milliseconds on two CPU threads, so screen time can embed
every tracked person in every sampled frame.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SIZE = (256, 128)  # height, width: the re-id convention (people are tall)
DIM = 256
MEAN = (0.485, 0.456, 0.406)  # ImageNet, what the encoder was initialised on
STD = (0.229, 0.224, 0.225)


class GeM(nn.Module):
    """Generalised-mean pooling: between average (p=1) and max pooling; learnt p."""

    def __init__(self, p: float = 3.0) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=1e-6).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


class BodyNet(nn.Module):
    """uint8 NHWC crops (``INPUT_SIZE``) → (N, ``DIM``) embeddings (not normalised)."""

    def __init__(self, dim: int = DIM) -> None:
        super().__init__()
        from torchvision.models import mobilenet_v2

        self.features = mobilenet_v2().features  # 1280 channels, stride 32
        self.pool = GeM()
        self.project = nn.Linear(1280, dim, bias=False)
        self.neck = nn.BatchNorm1d(dim)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1) * 255)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        x = (crops.permute(0, 3, 1, 2).float() - self.mean) / self.std
        x = x.contiguous(memory_format=torch.channels_last)
        return self.neck(self.project(self.pool(self.features(x))))

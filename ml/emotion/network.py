"""The expression network: a small residual CNN, 48x48 grey face → 7 logits (one file, one
network; ``ml.emotion.model`` crops faces for it and loads its weights)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")  # logit order


class Block(nn.Module):
    """A pre-activation-free basic residual block (conv-BN-ReLU-conv-BN + shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class EmotionNet(nn.Module):
    """48x48 grey → 7 logits. Stages at 48, 24, 12 and 6 px; ``width`` sets the channels."""

    def __init__(self, width: int = 32, blocks: tuple[int, ...] = (1, 2, 2, 1),
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        layers, cin = [], width
        for stage, count in enumerate(blocks):
            cout = width * 2**stage
            for i in range(count):
                layers.append(Block(cin, cout, 2 if (i == 0 and stage > 0) else 1))
                cin = cout
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(cin, len(CLASSES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)).mean(dim=(2, 3)))

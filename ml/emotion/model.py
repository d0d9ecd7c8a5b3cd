"""Facial expression: a small residual CNN, trained by this project on FER2013.

Seven classes as in FER2013: angry, disgust, fear, happy, neutral, sad, surprise. Input is a
48x48 grey face crop cut from MTCNN's landmarks with ``EMOTION_TEMPLATE`` (FER2013's own
geometry, measured by ``bench/fit_emotion_template.py``), so that a face detected in a photo
looks to the network like the FER2013 crops it learned from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ml.device import default_device
from ml.emotion.network import CLASSES, EmotionNet
from ml.faces.alignment import align
from ml.faces.detection import Face
from ml.images import ImageInput, load_image

SIZE = 48
WEIGHTS = Path(__file__).parent.parent / "weights" / "emotion_resnet.pt"
# Where MTCNN's five points sit on FER2013's 48x48 crops, scaled to a 150 px chip (see module doc).
EMOTION_TEMPLATE = np.array([
    [46.1, 60.0],
    [102.5, 59.0],
    [74.0, 92.5],
    [49.1, 115.7],
    [100.0, 114.7],
], dtype=np.float32)


def normalise(grey: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 48, 48) → the float input the network was trained on."""
    return (grey.float().unsqueeze(1) / 255.0 - 0.5) / 0.25


@dataclass(frozen=True)
class Emotion:
    label: str
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        return {"label": self.label,
                "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()}}


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> EmotionNet:
    file = Path(path) if path else WEIGHTS
    checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    model = EmotionNet(**checkpoint["config"])
    model.load_state_dict({k: v.float() for k, v in checkpoint["state_dict"].items()})
    return model.eval().to(default_device())


def face_crop(image: np.ndarray, face: Face) -> np.ndarray:
    """The 48x48 grey crop of ``face`` in FER2013's geometry."""
    chip = align(image, face, SIZE, EMOTION_TEMPLATE)
    return cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)


def to_grey48(crop: np.ndarray) -> np.ndarray:
    """Any face crop (grey or colour, any size) → 48x48 grey uint8, as FER2013 stores them."""
    rgb = load_image(crop)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if grey.shape != (SIZE, SIZE):
        interp = cv2.INTER_AREA if min(grey.shape) > SIZE else cv2.INTER_LINEAR
        grey = cv2.resize(grey, (SIZE, SIZE), interpolation=interp)
    return grey


def predict_crops(crops: np.ndarray, model: EmotionNet | None = None,
                  batch: int = 256) -> np.ndarray:
    """(N, 48, 48) uint8 grey crops → (N, 7) probabilities, averaged with the mirror image."""
    model = model or load_model()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(crops), batch):
        x = normalise(torch.from_numpy(np.ascontiguousarray(crops[start : start + batch])))
        x = x.to(device)
        with torch.inference_mode():
            p = F.softmax(model(x), 1) + F.softmax(model(x.flip(3)), 1)
        out.append((p / 2).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)


def emotions(image: ImageInput, faces: list[Face]) -> list[Emotion]:
    """The expression of each face (from ``ml.detect``), in order."""
    array = load_image(image)
    if not faces:
        return []
    probs = predict_crops(np.stack([face_crop(array, f) for f in faces]))
    return [Emotion(CLASSES[int(p.argmax())], dict(zip(CLASSES, map(float, p), strict=True)))
            for p in probs]

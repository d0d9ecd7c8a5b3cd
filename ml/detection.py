"""Find every face in a photo: box, confidence and five landmarks (facenet-pytorch MTCNN).

MTCNN's P/R/O-Net weights ship inside the facenet-pytorch wheel, so detection works offline.
Big photos are shrunk for detection (faces stay findable, time stays bounded) and the boxes and
landmarks are scaled back to the original pixels.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import torch

from ml.device import default_device
from ml.images import ImageInput, load_image

# Longest side the detector sees; larger photos are downscaled (faces under ~20 px at this
# size are lost, which is a few percent of a 6000 px photo's width: not a selfie's face).
DETECT_MAX_SIDE = 1600
MIN_SCORE = 0.90  # MTCNN's O-Net probability; lower lets in more false positives


@dataclass(frozen=True)
class Face:
    """One detected face, in the original image's pixel coordinates.

    ``landmarks`` are MTCNN's five points, (x, y) each: the eye on the image's left, the eye on
    the image's right, nose tip, mouth corner on the left, mouth corner on the right.
    """

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    landmarks: np.ndarray  # (5, 2) float32

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks],
        }


@lru_cache(maxsize=2)
def _mtcnn(device: str):
    from facenet_pytorch import MTCNN  # imports torchvision: keep it off the import path of ml

    return MTCNN(keep_all=True, device=torch.device(device)).eval()


def detect(image: ImageInput, min_score: float = MIN_SCORE) -> list[Face]:
    """Every face in ``image``, largest first."""
    return detect_batch([image], min_score=min_score)[0]


def detect_batch(images: list[ImageInput], min_score: float = MIN_SCORE) -> list[list[Face]]:
    """Detect faces in many images; images of the same size run as one batch."""
    from facenet_pytorch.models.utils.detect_face import detect_face

    device = default_device()
    mtcnn = _mtcnn(str(device))
    arrays = [load_image(image) for image in images]
    small, scales = zip(*(_shrink(a) for a in arrays), strict=True) if arrays else ((), ())
    by_shape: dict[tuple, list[int]] = defaultdict(list)
    for i, a in enumerate(small):
        by_shape[a.shape].append(i)
    results: list[list[Face]] = [[] for _ in arrays]
    for indices in by_shape.values():
        batch = np.stack([small[i] for i in indices])
        with torch.inference_mode():
            boxes, points = detect_face(
                batch, mtcnn.min_face_size, mtcnn.pnet, mtcnn.rnet, mtcnn.onet,
                mtcnn.thresholds, mtcnn.factor, device,
            )
        for i, b, p in zip(indices, boxes, points, strict=True):
            results[i] = _faces(np.asarray(b, np.float32), np.asarray(p, np.float32),
                                scales[i], min_score)
    return results


def _shrink(image: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _faces(boxes: np.ndarray, points: np.ndarray, scale: float, min_score: float) -> list[Face]:
    faces = []
    for box, pts in zip(boxes.reshape(-1, 5), points.reshape(-1, 5, 2), strict=True):
        if box[4] < min_score:
            continue
        x1, y1, x2, y2 = (float(v) / scale for v in box[:4])
        faces.append(Face((x1, y1, x2, y2), float(box[4]), (pts / scale).astype(np.float32)))
    return sorted(faces, key=lambda f: -f.width * f.height)

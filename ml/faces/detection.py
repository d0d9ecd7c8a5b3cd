"""Find every face in a photo: box, confidence and five landmarks (facenet-pytorch MTCNN).

MTCNN's P/R/O-Net weights ship inside the facenet-pytorch wheel, so detection works offline.
Big photos are shrunk for detection (faces stay findable, time stays bounded) and the boxes and
landmarks are scaled back to the original pixels.

The cascade is run here, not by facenet-pytorch's ``detect_face``: that function clips each
square candidate box to the photo before resampling it for R-Net and O-Net, then maps O-Net's
points back onto the unclipped box, so a face that fills the photo's height (tight headshots,
close selfies) gets its eyes on the forehead. Here the part of a box outside the photo is filled
with black, as in the original MTCNN, so the networks see the box they were asked about
(``docs/alignment.md`` has the measurements). ``ml.faces.versions.DETECTOR_VERSION`` names it in the
face cache's fingerprint.
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
# Photos about a few people (a selfie, a family photo) are searched at this size: 2.5x faster
# on a 1024 px selfie. O-Net places the points on a 48 px resample of each face, so a face at
# least 48 px wide here keeps its precision; the smallest face found is 1/32 of the long side.
SELFIE_SIDE = 640
MIN_SCORE = 0.90  # MTCNN's O-Net probability; lower lets in more false positives
# Smallest face looked for, in detector pixels. Each halving of it roughly quadruples P-Net's
# work; galleries, whose photos are about one face, look for larger ones (ml.galleries.build).
MIN_FACE = 20


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


def detect(image: ImageInput, min_score: float = MIN_SCORE, min_face: int = MIN_FACE,
           max_side: int = DETECT_MAX_SIDE) -> list[Face]:
    """Every face in ``image`` at least ``min_face`` pixels wide (on a copy at most
    ``max_side`` px long), largest first, in ``image``'s own pixels."""
    return detect_batch([image], min_score=min_score, min_face=min_face, max_side=max_side)[0]


def detect_batch(images: list[ImageInput], min_score: float = MIN_SCORE,
                 min_face: int = MIN_FACE, max_side: int = DETECT_MAX_SIDE,
                 ) -> list[list[Face]]:
    """Detect faces in many images; images of the same size run as one batch."""
    device = default_device()
    mtcnn = _mtcnn(str(device))
    arrays = [load_image(image) for image in images]
    small, scales = (zip(*(_shrink(a, max_side) for a in arrays), strict=True) if arrays
                     else ((), ()))
    by_shape: dict[tuple, list[int]] = defaultdict(list)
    for i, a in enumerate(small):
        by_shape[a.shape].append(i)
    results: list[list[Face]] = [[] for _ in arrays]
    for indices in by_shape.values():
        batch = torch.from_numpy(np.stack([small[i] for i in indices])).to(device)
        with torch.inference_mode():
            found = _cascade(batch.permute(0, 3, 1, 2).float(), mtcnn, min_face)
        for i, (b, p) in zip(indices, found, strict=True):
            results[i] = _faces(b, p, scales[i], min_score)
    return results


def _cascade(images: torch.Tensor, mtcnn, min_face: int = MIN_FACE,
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """MTCNN's three stages on (N, 3, H, W) float pixels → per image (boxes+score, points).

    The same steps and constants as facenet-pytorch's ``detect_face``; only the crops for R-Net
    and O-Net differ (``_crops``: zero-filled outside the photo instead of clipped).
    """
    from facenet_pytorch.models.utils.detect_face import (
        batched_nms_numpy,
        bbreg,
        generateBoundingBox,
        imresample,
        rerec,
    )
    from torchvision.ops.boxes import batched_nms

    t_pnet, t_rnet, t_onet = mtcnn.thresholds
    n, _, h, w = images.shape
    scale, shortest, scales = 12.0 / min_face, min(h, w), []
    while shortest * scale >= 12:
        scales.append(scale)
        scale *= mtcnn.factor
    if not scales:  # smaller than the smallest face looked for: nothing to find
        empty = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
        return [empty for _ in range(n)]

    # Stage 1: P-Net over the image pyramid proposes boxes.
    boxes, owner = [], []
    for scale in scales:
        pyramid = imresample(images, (int(h * scale + 1), int(w * scale + 1)))
        reg, probs = mtcnn.pnet((pyramid - 127.5) * 0.0078125)
        found, found_owner = generateBoundingBox(reg, probs[:, 1], scale, t_pnet)
        keep = batched_nms(found[:, :4], found[:, 4], found_owner, 0.5)
        boxes.append(found[keep])
        owner.append(found_owner[keep])
    boxes, owner = torch.cat(boxes), torch.cat(owner)
    keep = batched_nms(boxes[:, :4], boxes[:, 4], owner, 0.7)
    boxes, owner = boxes[keep], owner[keep]
    size = (boxes[:, 2:4] - boxes[:, 0:2]).repeat(1, 2)
    boxes = torch.cat([boxes[:, :4] + boxes[:, 5:9] * size, boxes[:, 4:5]], dim=1)
    boxes = rerec(boxes)

    # Stage 2: R-Net rejects and refines.
    if len(boxes):
        reg, probs = mtcnn.rnet(_crops(images, owner, boxes, 24))
        ok = probs[:, 1] > t_rnet
        boxes = torch.cat([boxes[ok, :4], probs[ok, 1:2]], dim=1)
        owner, reg = owner[ok], reg[ok]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], owner, 0.7)
        boxes = rerec(bbreg(boxes[keep], reg[keep]))
        owner = owner[keep]

    # Stage 3: O-Net scores, refines and places the five points.
    points = torch.zeros(0, 5, 2, device=images.device)
    if len(boxes):
        reg, marks, probs = mtcnn.onet(_crops(images, owner, boxes, 48))
        ok = probs[:, 1] > t_onet
        boxes = torch.cat([boxes[ok, :4], probs[ok, 1:2]], dim=1)
        owner, reg, marks = owner[ok], reg[ok], marks[ok]
        side = (boxes[:, 2:4] - boxes[:, 0:2] + 1).unsqueeze(1)  # (k, 1, 2): width, height
        points = torch.stack([marks[:, :5], marks[:, 5:]], dim=2) * side \
            + boxes[:, None, 0:2] - 1
        boxes = bbreg(boxes, reg)
        keep = batched_nms_numpy(boxes[:, :4], boxes[:, 4], owner, 0.7, "Min")
        boxes, owner, points = boxes[keep], owner[keep], points[keep]

    boxes, points, owner = boxes.cpu().numpy(), points.cpu().numpy(), owner.cpu().numpy()
    return [(boxes[owner == i].astype(np.float32), points[owner == i].astype(np.float32))
            for i in range(n)]


def _crops(images: torch.Tensor, owner: torch.Tensor, boxes: torch.Tensor,
           size: int) -> torch.Tensor:
    """Each box's pixels resampled to ``size``², black where the box leaves the photo."""
    from facenet_pytorch.models.utils.detect_face import imresample

    h, w = images.shape[2:]
    out = []
    for i, (x1, y1, x2, y2) in zip(owner.tolist(), boxes[:, :4].floor().int().tolist(),
                                   strict=True):
        x1, y1 = x1 - 1, y1 - 1  # MTCNN's boxes are 1-based and inclusive
        x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
        patch = images[i : i + 1, :, max(y1, 0) : max(min(y2, h), 0),
                       max(x1, 0) : max(min(x2, w), 0)]
        if patch.numel() == 0:
            patch = images.new_zeros((1, 3, y2 - y1, x2 - x1))
        else:
            patch = torch.nn.functional.pad(
                patch, (max(-x1, 0), max(x2 - w, 0), max(-y1, 0), max(y2 - h, 0)))
        out.append(imresample(patch, (size, size)))
    return (torch.cat(out) - 127.5) * 0.0078125


def _shrink(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _faces(boxes: np.ndarray, points: np.ndarray, scale: float, min_score: float) -> list[Face]:
    faces = []
    for box, pts in zip(boxes, points, strict=True):
        if box[4] < min_score:
            continue
        x1, y1, x2, y2 = (float(v) / scale for v in box[:4])
        faces.append(Face((x1, y1, x2, y2), float(box[4]), (pts / scale).astype(np.float32)))
    return sorted(faces, key=lambda f: -f.width * f.height)

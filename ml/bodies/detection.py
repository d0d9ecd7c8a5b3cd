"""Person boxes: where each whole person stands in a photo or frame, face seen or not.

The portrait U-Net's person mask, cut into connected regions; a region holding several faces is
split between them (each pixel column goes to the nearest face), so people standing shoulder to
shoulder become separate boxes. ``bench/reid.py`` measures it beside OpenCV's HOG people
detector (``docs/reid.md``); nothing is downloaded at run time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ml.images import ImageInput, load_image

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the photo's pixels
MASK_THRESHOLD = 0.5
MIN_AREA = 0.004  # a region smaller than this share of the photo is not a person
MIN_HEIGHT = 0.12  # nor one shorter than this share of the photo's height


@dataclass(frozen=True)
class Person:
    """One person's box and how sure the finder is (the mask's mean probability in it)."""

    box: Box
    score: float

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def mask_people(image: np.ndarray, faces: Sequence[Box] = ()) -> list[Person]:
    """People as regions of the portrait U-Net's mask, split between the faces they hold."""
    from ml.portrait.model import predict_small

    prob, _ = predict_small(image, flip=False)
    scale = image.shape[1] / prob.shape[1]  # the letterboxed mask keeps the photo's aspect
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (prob > MASK_THRESHOLD).astype(np.uint8), connectivity=8)
    small_faces = [np.array(f) / scale for f in faces]
    people = []
    for region in range(1, count):
        x, y, w, h, area = stats[region]
        if area < MIN_AREA * prob.size or h < MIN_HEIGHT * prob.shape[0]:
            continue
        inside = labels == region
        held = [f for f in small_faces
                if x <= (f[0] + f[2]) / 2 < x + w and y <= (f[1] + f[3]) / 2 < y + h]
        if len(held) < 2:
            parts = [inside]
        else:  # each column to the nearest face's centre
            centres = np.array(sorted((f[0] + f[2]) / 2 for f in held))
            nearest = np.abs(np.arange(prob.shape[1])[:, None] - centres[None]).argmin(1)
            parts = [inside & (nearest == k)[None, :] for k in range(len(centres))]
        for part in parts:
            ys, xs = np.nonzero(part)
            if len(ys) == 0 or np.ptp(ys) + 1 < MIN_HEIGHT * prob.shape[0]:
                continue
            box = (xs.min() * scale, ys.min() * scale, (xs.max() + 1) * scale,
                   (ys.max() + 1) * scale)
            people.append(Person(box, float(prob[part].mean())))
    return sorted(people, key=lambda p: p.box[0])


def find_people(image: ImageInput, faces: Sequence[Box] = ()) -> list[Person]:
    """Every person's box in ``image``, left to right; ``faces`` (boxes) split neighbours."""
    return mask_people(load_image(image), faces)


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def owner(face: Box, people: Sequence[Person]) -> int | None:
    """The index of the person whose box holds this face in its upper two thirds (a person cut
    off by the frame's edge or bending shows their face low in their box; the smallest such
    box: the nearest fit), or None."""
    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    fits = [(p.height * (p.box[2] - p.box[0]), k) for k, p in enumerate(people)
            if p.box[0] <= cx <= p.box[2] and p.box[1] - 0.5 * (face[3] - face[1]) <= cy
            <= p.box[1] + 2 / 3 * p.height]
    return min(fits)[1] if fits else None


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """The photo inside ``box`` (clipped to the photo)."""
    h, w = image.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return image[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]

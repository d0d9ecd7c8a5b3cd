"""Drawn mode: faces in drawings, sketches and animated characters.

MTCNN was trained on photos: on 256 px anime face crops it finds a face in a few percent of them,
and dlib's embedding of a drawn face says little about which character it is
(``docs/benchmarks.md``, cross-domain faces). Drawn mode, asked for explicitly, changes three
things and never touches the photo path (``ml.detect``, photo galleries and their searches):

- an image that is a face crop by ``is_face_crop`` (about square, not flat, not noise: what a
  drawn gallery is made of) is the face, whole;
- in other images MTCNN runs at lower thresholds (``DRAWN_THRESHOLDS``, ``DRAWN_MIN_SCORE``);
- a drawn character is told by its colours (hair, eyes, skin tone are what artists keep from
  one drawing to the next): ``drawn_vector`` is a colour histogram of the face region.

Galleries, ``lookalike match``/``identify`` and the web app use it as the embedder ``drawn``
(``ml.faces.embedding``): ``find_drawn_faces`` finds its faces, ``drawn_chip`` cuts the region and
``ColourHistogram`` makes the vectors.

The thresholds and the rule were fixed on the development characters (``bench/domains.py``).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import torch

from ml.device import default_device
from ml.faces.detection import DETECT_MAX_SIDE, MIN_FACE, Face, _cascade, _faces, _shrink
from ml.images import ImageInput, load_image

# MTCNN's P/R/O-Net thresholds and the final score in drawn mode (shipped photo mode:
# (0.6, 0.7, 0.7) and 0.90).
DRAWN_THRESHOLDS = (0.5, 0.5, 0.5)
DRAWN_MIN_SCORE = 0.5
# The face-crop rule: width/height within this ratio, grey level spread above FLAT_STD (a solid
# image is no face), and at least MIN_SMOOTH of the pixels in smooth areas (drawings are made
# of flat strokes and fills; noise has none). MIN_SMOOTH sits below every development crop
# (their least smooth: 0.094, median 0.25) and above noise (0.001); photo regions are smoother
# still, so in drawn mode a square photo region counts as a face crop (drawn mode is asked for).
CROP_ASPECT = 1.35
FLAT_STD = 8.0
MIN_SMOOTH = 0.05
# Where MTCNN's five points sit in a face box, as fractions of its width and height (the mean
# over LFW-style crops): the landmarks given to a whole-image face.
BOX_POINTS = np.array([[0.32, 0.40], [0.68, 0.40], [0.50, 0.56], [0.36, 0.74], [0.64, 0.74]],
                      np.float32)
# The colour descriptor: HSV bins (hue, saturation, value) on a 64 px copy of the face region.
HSV_BINS = (12, 4, 4)
DESCRIPTOR_DIM = int(np.prod(HSV_BINS))
REGION_SIDE = 64
# A detected face's region for colours: its box grown by this factor (hair and eyes included).
REGION_GROW = 2.0


@lru_cache(maxsize=4)
def _mtcnn(device: str, thresholds: tuple[float, float, float]):
    from facenet_pytorch import MTCNN  # imports torchvision: keep it off the import path of ml

    return MTCNN(keep_all=True, thresholds=list(thresholds), device=torch.device(device)).eval()


def detect_drawn(images: list[ImageInput], thresholds: tuple[float, float, float] =
                 DRAWN_THRESHOLDS, min_score: float = DRAWN_MIN_SCORE,
                 min_face: int = MIN_FACE, max_side: int = DETECT_MAX_SIDE,
                 ) -> list[list[Face]]:
    """MTCNN at drawn-mode thresholds, image by image: faces largest first, in each image's
    pixels (``ml.faces.detection.detect_batch`` with other thresholds)."""
    device = default_device()
    mtcnn = _mtcnn(str(device), tuple(thresholds))
    out = []
    for image in images:
        small, scale = _shrink(load_image(image), max_side)
        batch = torch.from_numpy(small[None].copy()).to(device)
        with torch.inference_mode():
            boxes, points = _cascade(batch.permute(0, 3, 1, 2).float(), mtcnn, min_face)[0]
        out.append(_faces(boxes, points, scale, min_score))
    return out


def whole_image_face(width: int, height: int) -> Face:
    """The whole image as one face, its landmarks where MTCNN puts them in a face box."""
    points = BOX_POINTS * np.array([width, height], np.float32)
    return Face((0.0, 0.0, float(width), float(height)), 0.0, points)


def crop_stats(image: np.ndarray) -> tuple[float, float, float]:
    """What ``is_face_crop`` looks at: the aspect ratio (long side / short side), the grey
    level spread and the smooth share (``smooth_fraction``) of a 64 px copy."""
    h, w = image.shape[:2]
    grey = cv2.cvtColor(_small(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return max(h, w) / max(min(h, w), 1), float(grey.std()), smooth_fraction(grey)


def crop_rule(stats: tuple[float, float, float]) -> bool:
    """The face-crop rule on ``crop_stats``: about square, not one flat colour, and with
    smooth areas (a drawing's fills) rather than noise everywhere."""
    aspect, spread, smooth = stats
    return aspect <= CROP_ASPECT and spread >= FLAT_STD and smooth >= MIN_SMOOTH


def is_face_crop(image: np.ndarray) -> bool:
    """Whether an image looks like a drawn face crop (``crop_rule``); tiny images never do."""
    return min(image.shape[:2]) >= 24 and crop_rule(crop_stats(image))


def smooth_fraction(grey: np.ndarray) -> float:
    """The share of pixels whose 3x3 neighbourhood varies by less than 4 grey levels."""
    mean = cv2.blur(grey, (3, 3))
    spread = np.sqrt(np.maximum(cv2.blur(grey * grey, (3, 3)) - mean * mean, 0))
    return float(np.mean(spread < 4.0))


def find_drawn_faces(images: list[ImageInput], min_face: int = MIN_FACE,
                     max_side: int = DETECT_MAX_SIDE) -> list[list[Face]]:
    """Each image's faces in drawn mode: the whole image when it is a face crop, else every face
    MTCNN finds at drawn thresholds (largest first)."""
    out = []
    for image in images:
        array = load_image(image)
        if is_face_crop(array):
            out.append([whole_image_face(array.shape[1], array.shape[0])])
        else:
            out.append(detect_drawn([array], min_face=min_face, max_side=max_side)[0])
    return out


def drawn_chip(image: np.ndarray, face: Face) -> np.ndarray:
    """The face's region (``face_region``) at 64 px: what the colour descriptor reads."""
    return _small(face_region(image, face))


class ColourHistogram(torch.nn.Module):
    """The colour descriptor as the ``drawn`` embedder's network: uint8 NHWC chips
    (``drawn_chip``) -> (N, 192) unit vectors. Nothing is learnt."""

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.stack([colour_descriptor(chip)
                                          for chip in chips.cpu().numpy()]))


def face_region(image: np.ndarray, face: Face, grow: float = REGION_GROW) -> np.ndarray:
    """The face's box grown by ``grow`` about its centre (clipped to the image)."""
    x1, y1, x2, y2 = face.box
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, grow * max(x2 - x1, y2 - y1) / 2
    h, w = image.shape[:2]
    left, top = max(int(cx - half), 0), max(int(cy - half), 0)
    right, bottom = min(int(np.ceil(cx + half)), w), min(int(np.ceil(cy + half)), h)
    if right - left < 2 or bottom - top < 2:
        return image
    return image[top:bottom, left:right]


def colour_descriptor(image: np.ndarray) -> np.ndarray:
    """A unit vector: the square root of the HSV colour histogram of ``image`` (64 px copy)."""
    hsv = np.asarray(cv2.cvtColor(_small(image), cv2.COLOR_RGB2HSV_FULL), np.int64)
    bins = np.array(HSV_BINS)
    index = (hsv * bins // 256) @ np.array([bins[1] * bins[2], bins[2], 1])
    counts = np.bincount(index.ravel(), minlength=int(np.prod(bins))).astype(np.float64)
    vector = np.sqrt(counts / counts.sum())
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def drawn_vector(image: ImageInput, face: Face) -> np.ndarray:
    """The drawn-character vector of a face: the colour descriptor of its region (the whole
    image for a whole-image face)."""
    return colour_descriptor(face_region(load_image(image), face))


def _small(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (REGION_SIDE, REGION_SIDE), interpolation=cv2.INTER_AREA)

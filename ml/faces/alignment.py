"""Cut a face out upright and at a fixed geometry, so embeddings compare faces, not poses.

A similarity transform (rotation, uniform scale, translation; least squares, Umeyama 1991) maps
MTCNN's five landmarks onto a template and warps the face onto a square chip.

``TEMPLATE_150`` is where MTCNN's points belong on the 150x150 chips that dlib's embedder was
trained on (``dlib.get_face_chip(size=150, padding=0.25)``), fitted by
``bench/fit_alignment_template.py`` on 800 LFW and CFP photos: MTCNN's points on the whole photo
mapped into dlib's chip of it (median), then checked against nearby scales and offsets for the
best agreement with dlib's own descriptors. See ``docs/alignment.md``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ml.faces.detection import Face
from ml.faces.versions import TEMPLATE_150  # defined there: part of the cache's fingerprint


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the similarity transform that best maps ``src`` points onto ``dst``."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / src_c.var(0).sum()
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align(image: np.ndarray, face: Face, size: int = 150,
          template: np.ndarray = TEMPLATE_150) -> np.ndarray:
    """The ``size`` x ``size`` RGB chip of ``face`` (template given for a 150 px chip)."""
    target = template * (size / 150.0)
    matrix = similarity_transform(face.landmarks, target)
    scale = float(np.hypot(*matrix[:, 0]))
    if scale < 0.5:  # a large face: shrink with area averaging first, as dlib's pyramid does
        shrink = min(1.0, 2 * scale)
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, round(w * shrink)), max(1, round(h * shrink))),
                           interpolation=cv2.INTER_AREA)
        matrix = similarity_transform(face.landmarks * shrink, target)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def crop_box(image: np.ndarray, face: Face, size: int, margin: float = 0.0) -> np.ndarray:
    """A square-resized crop of the face box (plus ``margin`` of its size), no rotation.

    What facenet-pytorch's ``extract_face`` does: the input InceptionResnetV1 was trained on.
    """
    x1, y1, x2, y2 = face.box
    mx, my = margin * (x2 - x1) / 2, margin * (y2 - y1) / 2
    src = np.array([[x1 - mx, y1 - my], [x2 + mx, y1 - my], [x1 - mx, y2 + my]], np.float32)
    dst = np.array([[0, 0], [size, 0], [0, size]], np.float32)
    matrix = cv2.getAffineTransform(src, dst)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)

"""What a face or a vector was made with: the detector's behaviour, the crop template, the
embedder. Caches and galleries are keyed by ``fingerprint``; it lives here, with no torch, cv2 or
network, so a process that only reads a gallery's state (the web app) can compute it cheaply.
"""

from __future__ import annotations

import hashlib

import numpy as np

# Part of every cached face's fingerprint: change it whenever MTCNN's boxes or points would
# change (``ml.faces.detection``).
DETECTOR_VERSION = "mtcnn-edgepad-1"

# Where MTCNN's points belong on dlib's 150x150 chips (fitted as ``ml.faces.alignment`` says).
TEMPLATE_150 = np.array([
    [46.620, 44.535],
    [102.793, 44.592],
    [74.289, 78.430],
    [49.773, 104.377],
    [99.652, 104.185],
], dtype=np.float32)


# Part of the ``drawn`` embedder's fingerprint: change it whenever ``ml.faces.drawn``'s face-crop
# rule, thresholds or colour descriptor would change its faces or vectors.
DRAWN_VERSION = b"drawn-crop-rule-1|mtcnn-0.5|hsv-12x4x4-64px-grow2"


def fingerprint(name: str, flip_average: bool = True) -> str:
    """Changes whenever cached faces or vectors would: the detector, the network, the crop
    template, flip averaging. Computed without loading the network."""
    template = {"dlib": TEMPLATE_150.tobytes(), "drawn": DRAWN_VERSION}.get(name, b"")
    digest = hashlib.sha1(f"{DETECTOR_VERSION}|{name}|{flip_average}".encode() + template)
    return f"{name}-{digest.hexdigest()[:10]}"


DEFAULT_EMBEDDER = "dlib"


def default_embedder_name() -> str:
    return DEFAULT_EMBEDDER

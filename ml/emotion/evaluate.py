"""Scoring the expression CNN on a folder of labelled crops (``DIR/<class>/*.png``): what
``lookalike emotion evaluate`` prints and what the emotion benchmark reads CK+ with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.emotion.model import CLASSES, to_grey48
from ml.errors import ImageError
from ml.images import load_image

# CK+ and other sets name classes differently; "contempt" has no FER2013 class and is skipped.
CLASS_ALIASES = {"anger": "angry", "sadness": "sad", "happiness": "happy", "surprised": "surprise",
                 "fearful": "fear", "disgusted": "disgust", "neutrality": "neutral"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


def read_labelled_crops(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """48x48 grey crops and class indices from ``folder/<class>/``; also the folders whose
    class is unknown and the files that could not be read (skipped, with the reason)."""
    crops, labels, unknown, unreadable = [], [], [], []
    for sub in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        name = CLASS_ALIASES.get(sub.name.lower(), sub.name.lower())
        if name not in CLASSES:
            unknown.append(sub.name)
            continue
        for file in sorted(sub.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    crops.append(to_grey48(load_image(file)))
                    labels.append(CLASSES.index(name))
                except ImageError as exc:
                    unreadable.append(str(exc))
    stacked = np.stack(crops) if crops else np.zeros((0, 48, 48), np.uint8)
    return stacked, np.array(labels, np.int64), unknown, unreadable

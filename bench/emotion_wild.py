"""Photos for the emotion benchmark beyond FER2013's crops, through the app's own face path.

- In the wild: muxspace/facial_expressions (news and celebrity photos; ``images/``, labels in
  ``data/legend.csv``). Only file names whose SHA-1 hex digest starts with 0-7 are ever read;
  8-f are reserved for independent evaluation (issue 27) and are dropped from the legend before
  any image is opened. Five classes (angry, happy, sad, neutral, surprise); happy and neutral
  make up nine in ten, so each class keeps the faces with the lowest digests, at most
  ``PER_CLASS`` (a rule fixed before anything was measured).
- JAFFE (posed, 213 photos, 7 classes: ``KA.AN1.39.jpg`` = subject, expression code, number).
Each photo goes the way an upload goes: shrunk to the app's size, MTCNN at the selfie size
(``ml.detect(..., max_side=SELFIE_SIDE)``), the largest face, the emotion crop
(``ml.emotion.model.face_crop``). Detections are cached by photo content under
``$LOOKALIKE_HOME/bench``, so a rerun skips the detector.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import ml
from ml.emotion.model import CLASSES, SIZE, face_crop
from ml.faces.detection import MIN_FACE, MIN_SCORE, SELFIE_SIDE, Face
from ml.files import atomic_path
from ml.images import open_image
from ml.paths import home

WILD_CLASSES = {"anger": "angry", "happiness": "happy", "sadness": "sad", "neutral": "neutral",
                "surprise": "surprise"}
PER_CLASS = 150
OURS = "01234567"  # first hex digits of the names we may use; the rest are reserved
JAFFE_CODES = {"AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy", "NE": "neutral",
               "SA": "sad", "SU": "surprise"}
APP_MAX_SIDE = 1600  # webapp.core.tasks.MAX_SIDE: an upload is analysed at most this big
FETCH_WILD = ("fetch github:muxspace/facial_expressions and put (or link) its images/ and "
              "data/ there")
FETCH_JAFFE = ("fetch github:fitoplankton/facial-expression-classification-prediction and "
               "extract its jaffe/ folder there")


def wild_dir() -> Path:
    """``LOOKALIKE_FACIAL_EXPRESSIONS``, else ``$LOOKALIKE_HOME/facial_expressions``."""
    return Path(os.environ.get("LOOKALIKE_FACIAL_EXPRESSIONS") or home() / "facial_expressions")


def jaffe_dir() -> Path:
    """``LOOKALIKE_JAFFE``, else ``$LOOKALIKE_HOME/jaffe``."""
    return Path(os.environ.get("LOOKALIKE_JAFFE") or home() / "jaffe")


def name_digest(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def reserved(name: str) -> bool:
    """Issue 27's independent-evaluation half: never read, evaluated or looked at here."""
    return name_digest(name)[0] not in OURS


def wild_validation(root: Path, per_class: int = PER_CLASS) -> list[tuple[Path, int]]:
    """(photo, class index) for our half of the in-the-wild set: per class, the names with the
    lowest digests whose file is there, at most ``per_class``. A name labelled twice
    differently is left out. Only the legend is read before the reserved names are gone."""
    labels: dict[str, set[str | None]] = {}
    with open(root / "data" / "legend.csv", newline="") as f:
        for row in csv.DictReader(f):
            name = row["image"].strip()
            if reserved(name):
                continue
            labels.setdefault(name, set()).add(WILD_CLASSES.get(row["emotion"].strip().lower()))
    by_class: dict[str, list[str]] = {c: [] for c in WILD_CLASSES.values()}
    for name, found in labels.items():
        if len(found) == 1 and None not in found:
            by_class[next(iter(found))].append(name)  # type: ignore[index]
    out = []
    for label, names in by_class.items():
        kept = [root / "images" / n for n in sorted(names, key=name_digest)
                if (root / "images" / n).is_file()][:per_class]
        out += [(path, CLASSES.index(label)) for path in kept]
    return out


def jaffe_photos(root: Path) -> list[tuple[Path, int]]:
    """(photo, class index) for every JAFFE photo named SUBJECT.CODEn.NUMBER.ext."""
    out = []
    for path in sorted(root.iterdir()):
        parts = path.name.split(".")
        code = parts[1][:2] if len(parts) >= 3 else ""
        if path.is_file() and code in JAFFE_CODES:
            out.append((path, CLASSES.index(JAFFE_CODES[code])))
    return out


def app_photo(path: Path) -> np.ndarray:
    """The photo as the app analyses an upload: upright RGB, at most ``APP_MAX_SIDE``."""
    image = open_image(path)
    if max(image.size) > APP_MAX_SIDE:
        image.thumbnail((APP_MAX_SIDE, APP_MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("RGB"))


@dataclass
class Crops:
    """The emotion crops of the photos a face was found in, and which photos had none."""

    crops: np.ndarray  # (n, 48, 48) uint8
    labels: np.ndarray  # (n,) class indices
    missed: np.ndarray  # (m,) class indices of the photos with no face found
    photos: int


def app_crops(photos: list[tuple[Path, int]], cache_name: str,
              progress: Callable[[int, int], None] = lambda done, total: None) -> Crops:
    """Each photo's largest face, as the app finds and crops it (detections cached)."""
    setting = f"app{APP_MAX_SIDE}-side{SELFIE_SIDE}-min{MIN_FACE}-score{MIN_SCORE}"
    cache_file = home() / "bench" / f"emotion-faces-{cache_name}.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    seen = cache.setdefault(setting, {})
    crops, labels, missed = [], [], []
    for n, (path, label) in enumerate(photos):
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        image = app_photo(path)
        if key not in seen:
            faces = ml.detect(image, max_side=SELFIE_SIDE)  # largest first
            seen[key] = ({"box": [float(v) for v in faces[0].box], "score": float(faces[0].score),
                          "landmarks": faces[0].landmarks.tolist()} if faces else None)
        if seen[key] is None:
            missed.append(label)
        else:
            face = Face(tuple(seen[key]["box"]), seen[key]["score"],
                        np.array(seen[key]["landmarks"], np.float32))
            crops.append(face_crop(image, face))
            labels.append(label)
        if (n + 1) % 10 == 0 or n + 1 == len(photos):
            progress(n + 1, len(photos))
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cache_file) as temp:
                Path(temp).write_text(json.dumps(cache))
    return Crops(np.stack(crops) if crops else np.zeros((0, SIZE, SIZE), np.uint8),
                 np.array(labels, np.int64), np.array(missed, np.int64), len(photos))

"""Faces found in an image, remembered by the image's content hash.

Rebuilding or growing a gallery re-reads thousands of photos; only the ones never seen before
are detected and embedded. One SQLite file per embedder fingerprint (detector, network,
alignment, flip averaging: a change makes a fresh cache) under ``$LOOKALIKE_HOME/cache``; safe
for several processes (SQLite's own locking).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

import numpy as np

from ml.faces.detection import Face
from ml.paths import home


@dataclass(frozen=True)
class ImageFaces:
    """Every face of one image with its embedding; ``vectors[i]`` belongs to ``faces[i]``."""

    width: int
    height: int
    faces: list[Face]
    vectors: np.ndarray  # (len(faces), D) float32


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FaceCache:
    def __init__(self, fingerprint: str, dim: int) -> None:
        self.path = home() / "cache" / f"faces-{fingerprint}.sqlite"
        self.path.parent.mkdir(exist_ok=True)
        self.dim = dim
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS faces (hash TEXT PRIMARY KEY, width INT, height INT,"
            " boxes BLOB, scores BLOB, landmarks BLOB, vectors BLOB)"
        )

    def get(self, key: str) -> ImageFaces | None:
        row = self.db.execute(
            "SELECT width, height, boxes, scores, landmarks, vectors FROM faces WHERE hash = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        width, height, boxes, scores, landmarks, vectors = row
        boxes = np.frombuffer(boxes, np.float32).reshape(-1, 4)
        scores = np.frombuffer(scores, np.float32)
        landmarks = np.frombuffer(landmarks, np.float32).reshape(-1, 5, 2)
        faces = [Face(tuple(map(float, b)), float(s), lm.copy())
                 for b, s, lm in zip(boxes, scores, landmarks, strict=True)]
        return ImageFaces(width, height, faces,
                          np.frombuffer(vectors, np.float32).reshape(-1, self.dim).copy())

    def put(self, key: str, item: ImageFaces) -> None:
        f = item.faces
        self.db.execute(
            "INSERT OR REPLACE INTO faces VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, item.width, item.height,
             np.array([x.box for x in f], np.float32).tobytes(),
             np.array([x.score for x in f], np.float32).tobytes(),
             np.array([x.landmarks for x in f], np.float32).tobytes(),
             np.asarray(item.vectors, np.float32).tobytes()),
        )

    def commit(self) -> None:
        self.db.commit()

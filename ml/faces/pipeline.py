"""Many photos or frames → every face and its embedding, batched: the one loop that gallery
builds, ``lookalike verify`` and screen time all run.

Images of one size go through the detector together, and all their faces through the network in
one batch; photos are remembered by content hash (``ml.faces.cache``), so only new ones are
detected and embedded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from ml.errors import ImageError
from ml.faces.cache import FaceCache, ImageFaces, content_hash
from ml.faces.detection import MIN_FACE, Face
from ml.faces.embedding import Embedder, get_embedder
from ml.images import load_image
from ml.progress import Progress, no_progress

BATCH_IMAGES = 64


class Photo(Protocol):
    """Anything that can hand over a photo's bytes (a file, an archive member, an upload)."""

    def read(self) -> bytes: ...


def main_face(faces: list[Face], width: int, height: int) -> Face | None:
    """The face a photo is about: large and near the centre (LFW-style photos show bystanders)."""
    if not faces:
        return None
    cx, cy = width / 2, height / 2

    def score(face: Face) -> float:
        fx, fy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        offset = np.hypot(fx - cx, fy - cy) / max(width, height)
        return face.width * face.height * (1.0 - offset) ** 4

    return max(faces, key=score)


def detect_and_embed(images: list[np.ndarray], model: Embedder,
                     keep: Callable[[Face], bool] = lambda face: True, min_face: int = MIN_FACE,
                     ) -> list[tuple[list[Face], np.ndarray]]:
    """Per image, its faces (those ``keep`` accepts, found the embedder's way) and their
    (n, dim) embeddings."""
    found = [[f for f in faces if keep(f)] for faces in model.find(images, min_face=min_face)]
    chips = [model.crop(image, f) for image, faces in zip(images, found, strict=True)
             for f in faces]
    vectors = (model.embed_chips(np.stack(chips)).vectors if chips
               else np.zeros((0, model.dim), np.float32))
    out, start = [], 0
    for faces in found:
        out.append((faces, vectors[start : start + len(faces)].astype(np.float32)))
        start += len(faces)
    return out


def find_faces(photos: list[Photo], embedder: str | None = None,
               progress: Progress = no_progress, min_face: int = MIN_FACE,
               ) -> list[ImageFaces | str]:
    """Faces + embeddings of every photo (cached by content), or an error message per photo;
    faces narrower than ``min_face`` detector pixels are not looked for."""
    model = get_embedder(embedder)
    fingerprint = model.fingerprint + ("" if min_face == MIN_FACE else f"-min{min_face}")
    cache = FaceCache(fingerprint, model.dim)
    results: list[ImageFaces | str | None] = [None] * len(photos)
    pending: list[tuple[int, str, np.ndarray]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        images = [image for _, _, image in pending]
        for (i, key, image), (faces, vectors) in zip(
                pending, detect_and_embed(images, model, min_face=min_face), strict=True):
            item = ImageFaces(image.shape[1], image.shape[0], faces, vectors)
            cache.put(key, item)
            results[i] = item
        cache.commit()
        done += len(pending)
        pending.clear()
        progress("embedding", done, len(photos))

    progress("embedding", 0, len(photos))
    for i, photo in enumerate(photos):
        try:
            data = photo.read()
        except OSError as exc:
            results[i] = f"unreadable: {exc}"
            done += 1
            continue
        key = content_hash(data)
        cached = cache.get(key)
        if cached is not None:
            results[i] = cached
            done += 1
            if done % 500 == 0:
                progress("embedding", done, len(photos))
            continue
        try:
            image = load_image(data)
        except ImageError as exc:
            results[i] = str(exc).replace("image: ", "", 1)
            done += 1
            continue
        pending.append((i, key, image))
        if len(pending) >= BATCH_IMAGES:
            flush()
    if pending:
        flush()
    progress("embedding", len(photos), len(photos))
    return results  # type: ignore[return-value]


def main_face_vectors(photos: list[Photo], embedder: str | None = None,
                      progress: Progress = no_progress, min_face: int = MIN_FACE,
                      ) -> list[np.ndarray | str | None]:
    """Per photo, the embedding of the face it is about: a vector, None when no face was found,
    or why the photo could not be read."""
    out: list[np.ndarray | str | None] = []
    for item in find_faces(photos, embedder, progress, min_face):
        if isinstance(item, str):
            out.append(item)
            continue
        face = main_face(item.faces, item.width, item.height)
        out.append(None if face is None
                   else item.vectors[next(n for n, f in enumerate(item.faces) if f is face)])
    return out

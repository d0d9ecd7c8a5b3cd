"""Several photos of one person, one answer.

A user's profile is the mean direction of the main face of each of their photos: pose, light
and expression average out, and what is left is the face (``bench/lookalike_stability.py``:
half a person's photos against the other half agree far more often than two single photos).
The photos are first checked to show one person, so a friend's photo slipped in is refused
with a message that names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ml.errors import DifferentPeople, NoFaces
from ml.faces.detection import DETECT_MAX_SIDE, Face
from ml.faces.embedding import Embeddings, get_embedder
from ml.faces.pipeline import main_face
from ml.faces.verify import calibration
from ml.galleries.ranking import profile_of, unit
from ml.images import ImageInput, load_image

# A face is embedded at these scales of its alignment (the five points spread about their
# centre) and the embeddings averaged: a lookalike then depends less on how the detector
# happened to place the points (bench/lookalike_stability.py, development split: the same
# top-1 from two photos 0.208 -> 0.245 with these three, 0.238 with four shifts added).
STEADY_SCALES = (1.0, 1.06, 0.94)


@dataclass(frozen=True)
class Profile:
    vector: Embeddings  # one row: the person's profile (a unit vector)
    photos: Embeddings  # one row per photo: its main face
    faces: list[Face]  # the main face of each photo


def steady_embed(image: ImageInput, faces: list[Face], embedder: str | None = None
                 ) -> Embeddings:
    """One embedding per face for lookalike search: the mean of the face embedded at each of
    ``STEADY_SCALES`` (``ml.embed`` embeds it once, as identification wants)."""
    model = get_embedder(embedder)
    array = load_image(image)
    if not faces:
        return model.embed_chips(np.zeros((0, 1, 1, 3), np.uint8))
    chips = []
    for face in faces:
        points = np.asarray(face.landmarks, np.float32)
        centre = points.mean(axis=0)
        for scale in STEADY_SCALES:
            chips.append(model.crop(array, replace(face, landmarks=(points - centre) * scale
                                                   + centre)))
    vectors = model.embed_chips(np.stack(chips).astype(np.uint8)).vectors
    n = len(STEADY_SCALES)
    return Embeddings(unit(vectors.reshape(len(faces), n, -1).mean(axis=1)), model.name)


def check_one_person(photos: Embeddings) -> None:
    """Raise ``DifferentPeople`` unless every photo's face is within the same-person distance
    of the others' profile (with two photos: of each other)."""
    n = len(photos)
    if n < 2:
        return
    threshold = float(calibration(photos.embedder)["threshold"])
    vectors = photos.vectors
    far = []
    for i in range(n):
        others = profile_of(np.delete(vectors, i, axis=0))
        far.append(float(np.linalg.norm(vectors[i] - others)))
    worst = int(np.argmax(far))
    if far[worst] < threshold:
        return
    if n == 2:
        raise DifferentPeople("photos 1 and 2 show different people: upload photos of one "
                              "person (or one photo at a time)")
    raise DifferentPeople(f"photo {worst + 1} shows someone else: every photo should show the "
                          "same person (remove it, or upload it on its own)", worst + 1)


def combine(photos: Embeddings) -> Embeddings:
    """The profile of already-checked photos of one person."""
    return Embeddings(profile_of(photos.vectors)[None], photos.embedder)


def person_profile(images: Sequence[ImageInput], embedder: str | None = None,
                   max_side: int = DETECT_MAX_SIDE) -> Profile:
    """The main face of each image (found on a copy at most ``max_side`` px long), checked to
    be one person, combined into a profile.

    Raises ``NoFaces`` naming a photo with no face, ``DifferentPeople`` naming the odd one."""
    if not images:
        raise ValueError("no photos given")
    faces, vectors = [], []
    name = embedder
    model = get_embedder(embedder)
    for n, image in enumerate(images, 1):
        array = load_image(image)
        face = main_face(model.find([array], max_side=max_side)[0], array.shape[1],
                         array.shape[0])
        if face is None:
            raise NoFaces(f"photo {n}: no face found")
        found = steady_embed(array, [face], name)
        name = found.embedder
        faces.append(face)
        vectors.append(found.vectors[0])
    photos = Embeddings(np.stack(vectors), name)
    check_one_person(photos)
    return Profile(combine(photos), photos, faces)

"""Lookalike's face toolkit: find faces, align them, embed them, compare them.

    import ml
    faces = ml.detect("me.jpg")               # every face: box, score, 5 landmarks
    vectors = ml.embed("me.jpg", faces)       # one unit vector per face (Embeddings)
    ml.emotions("me.jpg", faces)              # expression + probabilities per face
    ml.compare(vectors[0], other[0])          # distance, same_person, similarity %

Nothing here imports Flask or Celery: the web app and the CLI are both thin users of this.
"""

import numpy as np

from ml.detection import Face, detect, detect_batch
from ml.embedding import EmbedderMismatch, Embeddings, embed, get_embedder
from ml.emotion import Emotion, emotions
from ml.images import ImageError, load_image
from ml.verify import Comparison, compare, distances, similarity
from ml.weights import WeightsMissing

__all__ = [
    "Comparison", "EmbedderMismatch", "Embeddings", "Emotion", "Face", "ImageError",
    "WeightsMissing", "compare", "detect", "detect_batch", "distances", "embed", "emotions",
    "get_embedder", "load_image", "main_face", "similarity",
]


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



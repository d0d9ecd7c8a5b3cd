"""Lookalike's face toolkit: find faces, align them, embed them, compare them.

    import ml
    faces = ml.detect("me.jpg")               # every face: box, score, 5 landmarks
    vectors = ml.embed("me.jpg", faces)       # one unit vector per face (Embeddings)
    ml.emotions("me.jpg", faces)              # expression + probabilities per face
    ml.compare(vectors[0], other[0])          # distance, same_person, similarity %

A package per capability: ``ml.faces`` (detection, alignment, embedding, the batch pipeline,
verification), ``ml.galleries`` (store, build, search, identify), ``ml.emotion``, ``ml.portrait``,
``ml.family``, ``ml.video``, ``ml.render``; ``ml.training`` and ``ml.cli`` only call them.
Nothing here imports Flask or Celery, and ``import ml`` loads no model and not even torch: the
names below are imported on first use.
"""

from __future__ import annotations

from importlib import import_module

_PUBLIC = {
    "Face": "ml.faces.detection", "detect": "ml.faces.detection",
    "detect_batch": "ml.faces.detection",
    "Embeddings": "ml.faces.embedding", "embed": "ml.faces.embedding",
    "get_embedder": "ml.faces.embedding", "EMBEDDERS": "ml.faces.embedding",
    "main_face": "ml.faces.pipeline",
    "Comparison": "ml.faces.verify", "compare": "ml.faces.verify",
    "distances": "ml.faces.verify", "similarity": "ml.faces.verify",
    "Emotion": "ml.emotion.model", "emotions": "ml.emotion.model",
    "load_image": "ml.images",
    "LookalikeError": "ml.errors", "ImageError": "ml.errors", "VideoError": "ml.errors",
    "WeightsMissing": "ml.errors", "EmbedderMismatch": "ml.errors",
    "UnknownEmbedder": "ml.errors", "GalleryNotFound": "ml.errors",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
    else:
        try:  # a subpackage used as ml.faces.embedding.something
            value = import_module(f"ml.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'ml' has no attribute '{name}'") from None
    globals()[name] = value
    return value

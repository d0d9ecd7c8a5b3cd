"""Sketch -> photo: name the person an artist's sketch shows, among photos.

The engine puts a sketch and a photo of one person far apart: both domains sit off-centre, each
in its own direction, and that offset swamps who the person is. Subtracting each domain's mean
embedding before the cosine removes it (``bench/domains.py``, CUFS development sets, 5 folds over
people: rank-1 AR 0.634 -> 0.919, CUHK 0.420 -> 0.830). The offset depends on the artist and the
photo conditions, so the best means are those of the sketches and photos at hand: sketches
matched together (at least ``MIN_FOR_MEAN``) and a gallery centre on their own means; fewer
fall back on means learnt on the development sets (``SKETCH_MEANS``, ``docs/drawn.md``), which
transfer less well (AR 0.854, CUHK 0.761).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SKETCH_MEANS = Path(__file__).with_name("sketch_means.npz")
# Fewer vectors than this and their own mean is mostly the people themselves: the learnt
# means are used instead (for both domains, which must agree).
MIN_FOR_MEAN = 10


@lru_cache(maxsize=1)
def sketch_means() -> dict[str, np.ndarray]:
    """The learnt mean embeddings: ``sketch`` and ``photo`` (dlib, 128-d)."""
    with np.load(SKETCH_MEANS) as data:
        return {key: data[key].astype(np.float32) for key in ("sketch", "photo")}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-12)


def domain_means(sketches: np.ndarray, photos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (sketch, photo) means to subtract: their own when both sides have at least
    ``MIN_FOR_MEAN`` vectors, else the learnt pair."""
    if len(sketches) >= MIN_FOR_MEAN and len(photos) >= MIN_FOR_MEAN:
        return sketches.mean(0), photos.mean(0)
    means = sketch_means()
    return means["sketch"], means["photo"]


def sketch_photo_similarity(sketches: np.ndarray, photos: np.ndarray) -> np.ndarray:
    """(n_sketches, n_photos) cosine similarities of engine vectors after centring both
    domains: higher = more likely the same person."""
    sketches, photos = np.atleast_2d(sketches), np.atleast_2d(photos)
    ms, mp = domain_means(sketches, photos)
    return _unit(sketches - ms) @ _unit(photos - mp).T

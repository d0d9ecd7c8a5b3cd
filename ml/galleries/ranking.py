"""Identity-level scores for lookalikes: who do *you* look like, not who does this photo.

A stranger's nearest single gallery photo depends on that photo's pose and light more than on
the face, so two selfies of one person used to get different celebrities. Scoring each
identity by all its photos at once (a profile vector per identity) and asking the same of
several photos of the user (their mean) makes the answer a property of the person
(``bench/lookalike_stability.py`` measures both, and the levers that lost).

Everything here works on plain arrays, so the benchmark can try each lever on the same data the
gallery serves.
"""

from __future__ import annotations

import numpy as np

# Identities with fewer photos than this are left out of lookalike answers unless they are
# film/TV actors or come from a celebrity collection: LFW's one- and two-photo people
# ("Phil Cullen") are news photos of people nobody knows, and a profile from one or two photos
# is noise.
KNOWN_MIN_PHOTOS = 5
# A user's profile combines at most this many photos of them.
MAX_PROFILE_PHOTOS = 5


def profiles(vectors: np.ndarray, identity: np.ndarray, n_identities: int,
             weights: np.ndarray | None = None) -> np.ndarray:
    """Each identity's mean embedding (not re-normalised: its length says how alike the
    identity's photos are), shape (n_identities, D); zero for an identity without faces."""
    w = np.ones(len(vectors), np.float64) if weights is None else weights.astype(np.float64)
    sums = np.zeros((n_identities, vectors.shape[1]), np.float64)
    np.add.at(sums, identity, vectors * w[:, None])
    total = np.bincount(identity, weights=w, minlength=n_identities)
    return (sums / np.maximum(total, 1e-12)[:, None]).astype(np.float32)


def unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.atleast_2d(np.asarray(vectors, np.float32))
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def profile_of(vectors: np.ndarray) -> np.ndarray:
    """One unit vector for several photos of one person (their mean direction)."""
    return unit(np.mean(np.atleast_2d(vectors), axis=0))[0]


def distances(query: np.ndarray, table: np.ndarray) -> np.ndarray:
    """sqrt(2 - 2 q . t) from unit ``query`` vectors (Q, D) to every row of ``table`` (M, D):
    with unit rows (centroids) the Euclidean distance; with plain identity means the
    root-mean-square distance to the identity's photos (mean |q - x|^2 = 2 - 2 q . mean(x))."""
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * np.atleast_2d(query) @ table.T))


def top_k(distances: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest ``distances`` (1-D) among ``allowed`` ones, nearest first."""
    candidates = np.flatnonzero(allowed)
    if len(candidates) == 0 or k <= 0:
        return candidates[:0]
    d = distances[candidates]
    k = min(k, len(candidates))
    part = np.argpartition(d, k - 1)[:k]
    return candidates[part[np.argsort(d[part], kind="stable")]]

"""Face verification: distance → same person? and a similarity % that means something.

Distance is Euclidean between unit-length embeddings (0 = identical, 2 = opposite). All three
numbers below are calibrated on LFW View-2's 3,000 same-person ("genuine") and 3,000
different-person ("impostor") pairs by ``make bench-lfw`` and stored in
``ml/faces/calibration.json`` (see ``docs/calibration.md``):

- ``same_person``: ``distance < threshold``, the most accurate threshold on all 6,000 pairs.
- ``probability``: P(same person | distance), a logistic curve fitted to those pairs (maximum
  likelihood). Steep: it is the right number for "is this me?", near 0 for any lookalike.
- ``similarity`` (%): where the distance ranks among LFW pairs, the average of two shares:
  50 x (share of genuine pairs at least this far apart) + 50 x (share of impostor pairs at
  least this far apart). 100% = closer than every LFW pair; ~75% = a typical photo pair of one
  person; ~50% = closer than nearly all pairs of strangers but farther than nearly all
  same-person pairs (a striking lookalike); ~25% = a typical pair of strangers; 0% = farther
  apart than every LFW pair. It is monotone in distance and needs no tuning per gallery.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the embedder's module loads torch: the web reads galleries without it
    from ml.faces.embedding import Embeddings


CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Comparison:
    distance: float
    same_person: bool
    similarity: float  # percent, 0-100
    probability: float  # P(same person), 0-1

    def to_dict(self) -> dict:
        return {"distance": round(self.distance, 4), "same_person": self.same_person,
                "similarity": round(self.similarity, 1),
                "probability": round(self.probability, 4)}


@lru_cache(maxsize=1)
def calibrations() -> dict[str, dict]:
    return json.loads(CALIBRATION_FILE.read_text())


def calibration(embedder: str) -> dict:
    try:
        return calibrations()[embedder]
    except KeyError:
        raise ValueError(
            f"embedder '{embedder}' has no calibration: run `make bench-lfw` with it"
        ) from None


def distances(a: Embeddings, b: Embeddings) -> np.ndarray:
    """All pairwise distances, shape (len(a), len(b))."""
    a.check_same_embedder(b)
    cos = np.clip(a.vectors @ b.vectors.T, -1.0, 1.0)
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * cos))


def similarity(distance: float | np.ndarray, embedder: str) -> float | np.ndarray:
    """The similarity %, 0-100, for a distance (see the module docstring)."""
    cal = calibration(embedder)
    d = np.asarray(distance, np.float64)
    return 50.0 * (_share_at_least(d, cal["genuine_quantiles"])
                   + _share_at_least(d, cal["impostor_quantiles"]))


def probability(distance: float | np.ndarray, embedder: str) -> float | np.ndarray:
    """P(same person | distance), from the logistic fit on LFW pairs."""
    a, b = calibration(embedder)["logistic"]
    return 1.0 / (1.0 + np.exp(-(a + b * np.asarray(distance, np.float64))))


def _share_at_least(d: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Share of calibration pairs at distance >= d, from their quantiles (0%, 1%, ..., 100%)."""
    levels = np.linspace(0.0, 1.0, len(quantiles))
    return 1.0 - np.interp(d, quantiles, levels, left=0.0, right=1.0)


def quantiles(dist: np.ndarray, n: int = 101) -> list[float]:
    return [round(float(q), 5) for q in np.quantile(dist, np.linspace(0, 1, n))]


def compare(a: Embeddings, b: Embeddings) -> Comparison:
    """Compare the first face of ``a`` with the first face of ``b``."""
    d = float(distances(a[0], b[0])[0, 0])
    threshold = calibration(a.embedder)["threshold"]
    return Comparison(d, d < threshold, float(similarity(d, a.embedder)),
                      float(probability(d, a.embedder)))


# -- fitting and scoring, shared by the LFW benchmark and `lookalike verify` -----------------


def accuracy_at(dist: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((dist < threshold) == same))


def best_threshold(dist: np.ndarray, same: np.ndarray) -> float:
    """The threshold (midpoint between sorted distances) with the highest accuracy."""
    order = np.sort(np.unique(dist[np.isfinite(dist)]))
    midpoints = (order[1:] + order[:-1]) / 2
    candidates = np.concatenate([[order[0] - 1e-6], midpoints, [order[-1] + 1e-6]])
    # accuracy for every candidate at once: same pairs below + different pairs at or above
    s_sorted = np.sort(dist[same])
    d_sorted = np.sort(dist[~same])
    correct = np.searchsorted(s_sorted, candidates, "left") + (
        len(d_sorted) - np.searchsorted(d_sorted, candidates, "left")
    )
    return float(candidates[int(np.argmax(correct))])


def roc_auc(dist: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC curve, with smaller distance meaning "same" (Mann-Whitney U)."""
    scores = -dist
    ranks = _rankdata(scores)
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _rankdata(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def fit_logistic(dist: np.ndarray, same: np.ndarray, steps: int = 100) -> tuple[float, float]:
    """Maximum-likelihood ``(a, b)`` for P(same | d) = sigmoid(a + b d), by Newton's method."""
    x = np.stack([np.ones_like(dist), dist], axis=1)
    y = same.astype(np.float64)
    w = np.zeros(2)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (y - p)
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w += step
        if math.hypot(*step) < 1e-10:
            break
    return float(w[0]), float(w[1])

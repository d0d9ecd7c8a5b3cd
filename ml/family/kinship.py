"""Kinship: the probability that two faces are parent and child, learned on real families.

Each face is described by four dlib vectors (``KINDS``: the whole aligned chip and the chip with
all but the eyes, the nose or the mouth greyed out, ``ml.family.resemblance``). A pair's
features are symmetric in the two faces: per kind |a-b|, a*b and the distance. A small
network (``kinship.npz``, trained by ``ml/training/kinship.py`` on FIW families that no
evaluation sees) maps them to a score, and a per-relation logistic calibration (fitted on
held-out FIW validation families) turns the score into a probability of being related at even
odds. The relation (father/mother, son/daughter) is read from the faces by a linear sex
classifier on the whole-face vector, trained on the same FIW families.

The fair verdict: mothers' faces sit closer to children's than fathers' do for everyone, not
just for their own children, so comparing raw likeness names the mother most of the time. The
verdict instead ranks each relative's score among strangers of the same relation (how many
unrelated pairs of that relation score lower), which is what "ranked against 10 adults of the
same sex" measures, without a reference set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ml.errors import WeightsMissing

KINDS = ("face", "eyes", "nose", "mouth")
WEIGHTS = Path(__file__).with_name("kinship.npz")
# Figures measured by bench/kinship.py on data the model never saw, quoted by the page.
MEASURED = Path(__file__).with_name("kinship_measured.json")
def pair_features(parent: np.ndarray, child: np.ndarray, kinds: tuple[str, ...] = KINDS,
                  ) -> np.ndarray:
    """(N, F) features of N pairs of (N, len(KINDS), 128) vectors, the same either way round:
    per kind |a-b| and a*b (per dimension) and the distance."""
    idx = [KINDS.index(k) for k in kinds]
    a, b = _rows(parent)[:, idx], _rows(child)[:, idx]
    n = len(a)
    return np.concatenate([np.abs(a - b).reshape(n, -1), (a * b).reshape(n, -1),
                           np.linalg.norm(a - b, axis=2)], axis=1).astype(np.float32)


RELATION_NAMES = {"fd": "father-daughter", "fs": "father-son", "md": "mother-daughter",
                  "ms": "mother-son"}


@dataclass(frozen=True)
class KinshipModel:
    """The shipped kinship head (``kinship.npz``), all numpy: see the module docstring."""

    kinds: tuple[str, ...]
    mean: np.ndarray  # feature standardisation
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (W, b) per layer, ReLU between
    sex: tuple[np.ndarray, float]  # logistic on the face vector: P(male)
    calibration: dict[str, tuple[float, float]]  # relation → (a, b): p = sigmoid(a*score + b)
    strangers: dict[str, np.ndarray]  # relation → quantiles of unrelated pairs' scores
    accuracy: dict[str, float]  # measured figures the page quotes (docs/family.md)

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> KinshipModel:
        if not path.exists():
            raise WeightsMissing(f"{path} is missing: train it with "
                                 "`python -m ml.training.kinship`")
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            layers = tuple((z[f"w{i}"].astype(np.float32), z[f"b{i}"].astype(np.float32))
                           for i in range(meta["layers"]))
            return cls(tuple(meta["kinds"]), z["mean"].astype(np.float32),
                       z["scale"].astype(np.float32), layers,
                       (z["sex_w"].astype(np.float32), float(z["sex_b"])),
                       {r: tuple(v) for r, v in meta["calibration"].items()},
                       {r: z[f"strangers_{r}"].astype(np.float64) for r in RELATION_NAMES},
                       {**meta.get("accuracy", {}), **(json.loads(MEASURED.read_text())
                                                       if MEASURED.exists() else {})})

    def score(self, parent: np.ndarray, child: np.ndarray) -> np.ndarray:
        """The raw kinship score of each pair (a logit, uncalibrated)."""
        x = (pair_features(parent, child, self.kinds) - self.mean) / self.scale
        for n, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if n < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x[:, 0].astype(np.float64)

    def male(self, vectors: np.ndarray) -> np.ndarray:
        """P(male) of each face, from its whole-face vector."""
        w, b = self.sex
        return _sigmoid(_rows(vectors)[:, 0] @ w + b)

    def relations(self, parent: np.ndarray, child: np.ndarray) -> list[str]:
        """fd / fs / md / ms per pair, the sexes read from the faces."""
        return [("f" if p > 0.5 else "m") + ("s" if c > 0.5 else "d")
                for p, c in zip(self.male(parent), self.male(child), strict=True)]

    def probability(self, parent: np.ndarray, child: np.ndarray,
                    relations: list[str] | None = None) -> np.ndarray:
        """P(parent and child | the two faces), at even odds, calibrated per relation."""
        scores = self.score(parent, child)
        rels = relations or self.relations(parent, child)
        ab = np.array([self.calibration[r] for r in rels], np.float64).reshape(-1, 2)
        return _sigmoid(ab[:, 0] * scores + ab[:, 1])

    def stranger_rank(self, parent: np.ndarray, child: np.ndarray,
                      relations: list[str] | None = None) -> np.ndarray:
        """Share of unrelated pairs of the same relation (same-sex adults) that score lower:
        what the fair verdict compares, so neither parent is favoured by sex alone."""
        scores = self.score(parent, child)
        rels = relations or self.relations(parent, child)
        return np.array([np.interp(s, self.strangers[r], np.linspace(0, 1, len(self.strangers[r])))
                         for s, r in zip(scores, rels, strict=True)])


def _rows(vectors: np.ndarray) -> np.ndarray:
    """One face's (len(KINDS), 128) vectors or many faces' as (N, len(KINDS), 128)."""
    return np.asarray(vectors, np.float32).reshape(-1, len(KINDS), 128)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


@lru_cache(maxsize=1)
def kinship_model() -> KinshipModel:
    """The shipped model, loaded once per process."""
    return KinshipModel.load()


def kinship_about() -> str:
    """What the kinship % means and how often it is right, in the measured figures (numpy
    only: the web process quotes it without loading torch)."""
    measured = kinship_model().accuracy
    text = ("Kinship is the chance that two faces are parent and child, learned from real "
            "families (FIW) and calibrated so that 50% means as likely related as not.")
    if "fiw_test_accuracy" in measured:
        right = 100 * measured["fiw_test_accuracy"]
        text += (f" Reading above 50% as related was right for {right:.0f}% of parent-child and "
                 "unrelated pairs from families it never saw")
        if "kinfacew2_accuracy" in measured:
            text += (f" ({100 * measured['kinfacew2_accuracy']:.0f}% on the KinFaceW-II "
                     "benchmark)")
        text += "."
    return text + (" It is a resemblance score, not a DNA test: a low score does not mean "
                   "two people are unrelated.")

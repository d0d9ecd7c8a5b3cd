"""Family resemblance: who does the first person (the child) look like, and in which features.

Whole faces are compared as everywhere else in ``ml``: dlib embeddings of aligned chips and the
LFW-calibrated similarity % (``ml.faces.verify``). For the features, each aligned 150 px chip is
embedded again with everything but one region greyed out: the eyes (with the brows), the nose,
the mouth. The region rectangles sit on the alignment template's landmarks, so they cover the
same features on every face. Distances between such masked chips run larger than whole-face
ones, so each region has its own calibration, fitted the same way on LFW View-2 pairs by
``bench/family.py`` (``ml/family/calibration.json``; how well each region alone tells people
apart is in ``docs/family.md``). A region's % reads like the face %: ~75% is typical of two
photos of one person, ~25% of two strangers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

from ml.errors import NoFaces
from ml.faces.detection import Face
from ml.faces.embedding import get_embedder
from ml.faces.verify import similarity

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# x1, y1, x2, y2 on the 150 px chip of ml.faces.alignment.TEMPLATE_150 (eyes at y≈44, nose tip at
# y≈78, mouth corners at y≈105): each box holds one feature and little of the others.
REGIONS = {
    "eyes": (14, 18, 136, 62),
    "nose": (50, 50, 100, 90),
    "mouth": (34, 88, 116, 124),
}
GREY = 128
CHILD_NOTE = ("Face similarity is calibrated on adults' photos: on children, whose faces are "
              "still changing, resemblance scores are less reliable. Take it as fun, not proof.")


def region_chips(chip: np.ndarray) -> dict[str, np.ndarray]:
    """The aligned 150 px chip once per region, with everything outside the region grey."""
    scale = chip.shape[0] / 150.0
    out = {}
    for name, (x1, y1, x2, y2) in REGIONS.items():
        masked = np.full_like(chip, GREY)
        ys, xs = slice(round(y1 * scale), round(y2 * scale)), slice(round(x1 * scale),
                                                                    round(x2 * scale))
        masked[ys, xs] = chip[ys, xs]
        out[name] = masked
    return out


def face_vectors(images: list[np.ndarray], faces: list[Face],
                 embedder: str | None = None) -> dict[str, np.ndarray]:
    """Unit vectors per person for the whole face and for each region: name → (N, D)."""
    model = get_embedder(embedder)
    chips = [model.crop(image, face) for image, face in zip(images, faces, strict=True)]
    out = {"face": model.embed_chips(np.stack(chips)).vectors}
    masked = [region_chips(chip) for chip in chips]
    for region in REGIONS:
        out[region] = model.embed_chips(np.stack([m[region] for m in masked])).vectors
    return out


@lru_cache(maxsize=1)
def calibrations() -> dict:
    if not CALIBRATION_FILE.exists():
        raise FileNotFoundError(f"{CALIBRATION_FILE} is missing: run `python bench/family.py`")
    return json.loads(CALIBRATION_FILE.read_text())


def region_similarity(distance: np.ndarray | float, region: str, embedder: str) -> np.ndarray:
    """Similarity % of a region's distance, on that region's own LFW calibration."""
    cal = calibrations()[embedder][region]
    levels = np.linspace(0.0, 1.0, len(cal["genuine_quantiles"]))
    d = np.asarray(distance, np.float64)
    share = [1.0 - np.interp(d, cal[k], levels, left=0.0, right=1.0)
             for k in ("genuine_quantiles", "impostor_quantiles")]
    return 50.0 * (share[0] + share[1])


@dataclass(frozen=True)
class Resemblance:
    names: list[str]
    matrix: np.ndarray  # (N, N) face similarity %, 100 on the diagonal
    regions: dict[str, np.ndarray]  # region → (N, N) similarity %

    def most_like(self, person: int = 0, region: str | None = None) -> tuple[int, float]:
        """Whom ``person`` resembles most (index, %), by the whole face or one region."""
        matrix = self.matrix if region is None else self.regions[region]
        others = [(float(matrix[person, j]), j) for j in range(len(self.names)) if j != person]
        score, best = max(others)
        return best, score

    def verdict(self) -> str:
        best, score = self.most_like(0)
        child = self.names[0]
        return f"{child} looks most like {self.names[best]}, {score:.0f}%"

    def to_dict(self) -> dict:
        best, score = self.most_like(0)
        features = {}
        for region in REGIONS:
            who, pct = self.most_like(0, region)
            features[region] = {"most_like": self.names[who], "similarity": round(pct, 1),
                                "scores": {self.names[j]: round(float(self.regions[region][0, j]),
                                                                1)
                                           for j in range(1, len(self.names))}}
        return {
            "names": self.names,
            "matrix": [[round(float(v), 1) for v in row] for row in self.matrix],
            "verdict": self.verdict(),
            "most_like": {"name": self.names[best], "similarity": round(score, 1)},
            "regions": features,
            "note": CHILD_NOTE,
        }


def resemblance(names: list[str], images: list[np.ndarray], faces: list[Face],
                embedder: str | None = None) -> Resemblance:
    """Compare each person's face (one per photo) with everyone else's; person 0 is the child."""
    if len(names) < 2 or not len(names) == len(images) == len(faces):
        raise NoFaces("need two or more people, each with one photo and one face")
    model = get_embedder(embedder)
    vectors = face_vectors(images, faces, model.name)
    n = len(names)

    def matrix(rows: np.ndarray, score) -> np.ndarray:
        out = np.full((n, n), 100.0)
        for i, j in combinations(range(n), 2):
            out[i, j] = out[j, i] = float(score(float(np.linalg.norm(rows[i] - rows[j]))))
        return out

    whole = matrix(vectors["face"], lambda d: similarity(d, model.name))
    regions = {r: matrix(vectors[r], lambda d, r=r: region_similarity(d, r, model.name))
               for r in REGIONS}
    return Resemblance(list(names), whole, regions)

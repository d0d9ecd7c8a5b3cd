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

Likeness is not kinship: a parent typically sits past the same-person threshold. So every pair
also gets a kinship probability (``ml.family.kinship``, learned on real families), and the
verdict names the relative whose kinship score is most unusual among strangers of the same
relation, so that mothers (whose faces sit closer to every child's) are not favoured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

from ml.errors import NoFaces
from ml.faces.detection import Face, detect_batch
from ml.faces.embedding import get_embedder
from ml.faces.pipeline import main_face
from ml.faces.verify import similarity
from ml.family.kinship import KINDS, kinship_about, kinship_model

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


def face_vectors(images: list[np.ndarray], faces: list[Face], embedder: str | None = None,
                 regions: bool = True) -> dict[str, np.ndarray]:
    """Unit vectors per person for the whole face and (unless ``regions`` is False) for each
    region: name → (N, D)."""
    model = get_embedder(embedder)
    chips = [model.crop(image, face) for image, face in zip(images, faces, strict=True)]
    out = {"face": model.embed_chips(np.stack(chips)).vectors}
    masked = [region_chips(chip) for chip in chips] if regions else []
    for region in REGIONS if regions else ():
        out[region] = model.embed_chips(np.stack([m[region] for m in masked])).vectors
    return out


@lru_cache(maxsize=1)
def calibrations() -> dict:
    if not CALIBRATION_FILE.exists():
        raise FileNotFoundError(f"{CALIBRATION_FILE} is missing: run "
                                "`python -m bench.family --write`")
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
    kinship: np.ndarray  # (N, N) P(parent and child), 0..1, NaN on the diagonal
    stranger_rank: np.ndarray  # (N,) share of same-relation strangers each relative outscores

    def most_like(self, person: int = 0, region: str | None = None) -> tuple[int, float]:
        """Whom ``person`` resembles most (index, %), by the whole face or one region."""
        matrix = self.matrix if region is None else self.regions[region]
        others = [(float(matrix[person, j]), j) for j in range(len(self.names)) if j != person]
        score, best = max(others)
        return best, score

    def closest_kin(self) -> int:
        """The relative the fair verdict names: the highest rank among same-relation strangers
        (ties: the higher kinship probability)."""
        return max(range(1, len(self.names)),
                   key=lambda j: (round(float(self.stranger_rank[j]), 6),
                                  float(self.kinship[0, j])))

    def verdict(self) -> str:
        best = self.closest_kin()
        child = self.names[0]
        return (f"{child} looks most like {self.names[best]}: kinship "
                f"{100 * self.kinship[0, best]:.0f}%, face {self.matrix[0, best]:.0f}%")

    def to_dict(self) -> dict:
        best, score = self.closest_kin(), float(self.matrix[0, self.closest_kin()])
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
            "kinship": {
                "matrix": [[None if i == j else round(float(v), 3) for j, v in enumerate(row)]
                           for i, row in enumerate(self.kinship)],
                "scores": {self.names[j]: round(float(self.kinship[0, j]), 3)
                           for j in range(1, len(self.names))},
                "stranger_rank": {self.names[j]: round(float(self.stranger_rank[j]), 3)
                                  for j in range(1, len(self.names))},
                "most_like": self.names[best],
                "about": kinship_about(),
            },
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
    # The kinship head was trained on dlib vectors, whichever embedder ranks likeness.
    kin_vectors = vectors if model.name == "dlib" else face_vectors(images, faces, "dlib")
    kin, rank = kinship_matrix(np.stack([kin_vectors[k] for k in KINDS], axis=1))
    return Resemblance(list(names), whole, regions, kin, rank)


# Tight face crops (FIW, KinFaceW) leave the detector no margin: pad them grey before looking.
PAD = 0.25


def padded(image: np.ndarray, pad: float = PAD) -> tuple[np.ndarray, int, int]:
    """The image with a grey border of ``pad`` x its side, and the border's (x, y) size."""
    h, w = image.shape[:2]
    px, py = round(w * pad), round(h * pad)
    out = np.full((h + 2 * py, w + 2 * px, 3), 128, np.uint8)
    out[py : py + h, px : px + w] = image
    return out, px, py


def photo_vectors(images: list[np.ndarray], regions: bool = True) -> list[np.ndarray | None]:
    """Per photo, the (``len(KINDS)``, 128) vectors of its main face, or None without a face;
    without ``regions`` only the whole face is embedded (a quarter of the network passes) and
    the regions are NaN. Photos are upscaled to at least 160 px and, under 400 px (face crops
    such as FIW's and KinFaceW's), padded grey before detection."""
    prepared = []
    for image in images:
        scale = max(1.0, 160.0 / min(image.shape[:2]))
        if scale > 1.0:
            from PIL import Image

            h, w = image.shape[:2]
            image = np.asarray(Image.fromarray(image).resize((round(w * scale), round(h * scale)),
                                                             Image.BICUBIC))
        prepared.append(padded(image) if min(image.shape[:2]) < 400 else (image, 0, 0))
    found = detect_batch([p[0] for p in prepared])
    kept: list[tuple[int, np.ndarray, Face]] = []
    for n, ((image, _, _), faces) in enumerate(zip(prepared, found, strict=True)):
        face = main_face(faces, image.shape[1], image.shape[0])
        if face is not None:
            kept.append((n, image, face))
    out: list[np.ndarray | None] = [None] * len(images)
    if kept:
        rows = face_vectors([k[1] for k in kept], [k[2] for k in kept], "dlib", regions)
        nan = np.full(128, np.nan, np.float32)
        for m, (n, _, _) in enumerate(kept):
            out[n] = np.stack([rows[kind][m] if kind in rows else nan
                               for kind in KINDS]).astype(np.float32)
    return out


def kinship_matrix(people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From (N, len(KINDS), 128) vectors, person 0 the child: the (N, N) kinship probability
    (row 0: each relative as the child's parent; other pairs: both ways round, averaged) and
    each relative's rank among same-relation strangers (NaN for the child)."""
    model = kinship_model()
    n = len(people)
    out = np.full((n, n), np.nan)
    i, j = np.triu_indices(n, 1)
    forward = model.probability(people[i], people[j])
    backward = model.probability(people[j], people[i])
    out[i, j] = out[j, i] = np.where(i == 0, backward, (forward + backward) / 2)
    rank = np.full(n, np.nan)
    rank[1:] = model.stranger_rank(people[1:], np.repeat(people[:1], n - 1, axis=0))
    return out, rank


def pair_kinship(pairs: list[tuple[np.ndarray | None, np.ndarray | None]]) -> list[float | None]:
    """P(parent and child) per (parent, child) pair of photos' vectors (``photo_vectors``);
    None where either photo has no face."""
    out: list[float | None] = [None] * len(pairs)
    ok = [n for n, (a, b) in enumerate(pairs) if a is not None and b is not None]
    if ok:
        p = kinship_model().probability(np.stack([pairs[n][0] for n in ok]),
                                        np.stack([pairs[n][1] for n in ok]))
        for n, value in zip(ok, p, strict=True):
            out[n] = round(float(value), 4)
    return out

"""Our face engine beside face_recognition's, on every kind of photo we serve, in one run.

    make bench-faces          # = .venv/bin/python -m bench.faces

Sets (``../shared/data``): LFW (loose 192 px crops), CFP (tight headshots, most of the default
gallery's actors), Bollywood (64 px crops, another population) and human_seg (people in scenes:
small faces, no names). Pipelines: Lookalike (MTCNN → 5-point alignment → dlib ResNet-34 port,
flip-averaged; batched and cached as a gallery build does) and face_recognition 1.3.0 (dlib's HOG
detector with one upsample → 5-point landmarks → dlib's chip → the same ResNet-34). Each photo
contributes its main face (large and central, the same rule for both).

Per set and pipeline:
- faces found: photos where the pipeline found a face.
- verification: 10 folds; LFW uses View-2 ``pairs.txt``; the other sets use pairs generated with a
  fixed seed (people split into 10 disjoint folds, 300 same + 300 different pairs in each). The
  threshold is chosen on 9 folds and applied to the 10th. A pair with a faceless photo is wrong.
- identification: probe = each person's first photo (people with >= 2 photos), gallery = every
  other photo; nearest photo decides; rank-5 = among the 5 nearest people. A faceless probe is a
  miss. Leave-one-out: each photo's nearest other photo is the same person.
- s / image: load + detect + align + embed every face, one photo at a time, models warm.

human_seg has no names, so its "people" are photos: each photo and a copy shrunk to 60% and
re-saved as JPEG quality 70 (the same person, smaller and blurrier). Probe = the original,
gallery = the copies; same pairs = a photo and its copy, different pairs = two photos (two
photos of one person among the 250 would count as "different": none was seen).

Embeddings are cached per set and pipeline version in ``$LOOKALIKE_HOME/bench``, so
``--pipelines ours`` and ``--pipelines face_recognition`` can run in parallel first, and the
report run after them only evaluates and times.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

import ml
from bench.lfw import read_pairs
from bench.report import machine, write_section
from ml.faces.pipeline import find_faces
from ml.faces.verify import accuracy_at, best_threshold
from ml.galleries.build import SourcePhoto, scan_sources
from ml.paths import data_dir, home

ROOT = Path(__file__).resolve().parent.parent

SETS = ("lfw", "cfp", "bollywood", "human_seg")
LABELS = {"lfw": "LFW (loose crops)", "cfp": "CFP (tight headshots)",
          "bollywood": "Bollywood (64 px crops)", "human_seg": "human_seg (people in scenes)"}
PIPELINES = ("ours", "face_recognition")
NAMES = {"ours": "Lookalike", "face_recognition": "face_recognition"}
FOLDS, PAIRS_PER_FOLD = 10, 300


@dataclass
class PhotoSet:
    """A set's photos (as a gallery build reads them) and who is on each."""

    name: str
    photos: list[SourcePhoto]
    person: np.ndarray  # (N,) int person id

    def read_image(self, i: int) -> np.ndarray:
        return ml.load_image(self.photos[i].read())


def load_set(name: str) -> PhotoSet:
    if name == "human_seg":
        files = sorted((data_dir() / "human_seg" / "images").glob("*.jpg"),
                       key=lambda p: int(p.stem))
        photos = [SourcePhoto(f.stem, str(f), f.read_bytes) for f in files]
        photos += [SourcePhoto(f.stem, f"{f}:small", lambda f=f: _shrunk_copy(f)) for f in files]
        person = np.tile(np.arange(len(files)), 2)
        return PhotoSet(name, photos, person)
    photos, _ = scan_sources([data_dir() / name])
    keys = {p: i for i, p in enumerate(dict.fromkeys(p.person for p in photos))}
    return PhotoSet(name, photos, np.array([keys[p.person] for p in photos]))


def _shrunk_copy(path: Path) -> bytes:
    image = Image.open(path).convert("RGB")
    image = image.resize((round(image.width * 0.6), round(image.height * 0.6)), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


# -- the two pipelines --------------------------------------------------------------------


def embed_ours(photos: PhotoSet) -> tuple[np.ndarray, np.ndarray]:
    """(N, 128) main-face vectors (NaN where no face) and faces found per photo."""
    found = find_faces(photos.photos, "dlib", _tqdm_progress(f"Lookalike/{photos.name}"))
    vectors = np.full((len(found), 128), np.nan, np.float32)
    counts = np.zeros(len(found), np.int32)
    for i, item in enumerate(found):
        if isinstance(item, str) or not item.faces:
            continue
        face = ml.main_face(item.faces, item.width, item.height)
        vectors[i] = item.vectors[next(n for n, f in enumerate(item.faces) if f is face)]
        counts[i] = len(item.faces)
    return vectors, counts


def _tqdm_progress(desc: str) -> Callable[[str, int, int], None]:
    bar = tqdm(desc=desc, unit="img")

    def progress(_stage: str, done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return progress


def fr_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """face_recognition's boxes (top, right, bottom, left), main face first."""
    import face_recognition

    boxes = face_recognition.face_locations(image, model="hog")
    h, w = image.shape[:2]

    def main(b: tuple[int, int, int, int]) -> float:
        top, right, bottom, left = b
        offset = np.hypot((left + right) / 2 - w / 2, (top + bottom) / 2 - h / 2) / max(h, w)
        return (right - left) * (bottom - top) * (1 - offset) ** 4

    return sorted(boxes, key=main, reverse=True)


def embed_face_recognition(photos: PhotoSet) -> tuple[np.ndarray, np.ndarray]:
    import face_recognition

    vectors = np.full((len(photos.photos), 128), np.nan, np.float32)
    counts = np.zeros(len(photos.photos), np.int32)
    for i in tqdm(range(len(photos.photos)), desc=f"face_recognition/{photos.name}", unit="img"):
        image = photos.read_image(i)
        boxes = fr_faces(image)
        counts[i] = len(boxes)
        if boxes:
            vec = face_recognition.face_encodings(image, boxes[:1], model="small")[0]
            vectors[i] = vec / np.linalg.norm(vec)
    return vectors, counts


def pipeline_version(pipeline: str) -> str:
    return ml.get_embedder("dlib").fingerprint if pipeline == "ours" else "fr-1.3.0-hog1-small"


def embeddings(pipeline: str, photos: PhotoSet) -> tuple[np.ndarray, np.ndarray]:
    cache = home() / "bench" / f"faces-{photos.name}-{pipeline_version(pipeline)}.npz"
    if cache.exists():
        data = np.load(cache)
        if len(data["vectors"]) == len(photos.photos):
            return data["vectors"], data["counts"]
    compute = embed_ours if pipeline == "ours" else embed_face_recognition
    vectors, counts = compute(photos)
    cache.parent.mkdir(exist_ok=True)
    np.savez(cache, vectors=vectors, counts=counts)
    return vectors, counts


def seconds_per_image(pipeline: str, photos: PhotoSet, n: int) -> float:
    """Load + detect + align + embed every face, one photo at a time, models warm."""
    import face_recognition

    def ours(i: int) -> None:
        image = photos.read_image(i)
        ml.embed(image, ml.detect(image), "dlib")

    def theirs(i: int) -> None:
        image = photos.read_image(i)
        face_recognition.face_encodings(image, fr_faces(image), model="small")

    one = ours if pipeline == "ours" else theirs
    sample = np.linspace(0, len(photos.photos) - 1, n + 1).astype(int)
    one(int(sample[0]))
    start = time.perf_counter()
    for i in sample[1:]:
        one(int(i))
    return (time.perf_counter() - start) / n


# -- protocols ----------------------------------------------------------------------------


def pairs_for(photos: PhotoSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, 2) photo indices, same flags, fold: LFW's own, else generated with seed 0."""
    if photos.name == "lfw":
        pairs, same, fold = read_pairs(data_dir() / "lfw")
        index = {Path(p.source): i for i, p in enumerate(photos.photos)}
        return np.array([[index[a], index[b]] for a, b in pairs]), same, fold
    rng = np.random.default_rng(0)
    people = rng.permutation(photos.person.max() + 1)
    rows_of = {p: np.flatnonzero(photos.person == p) for p in people}
    if photos.name == "human_seg":  # a photo and its copy; two photos
        n = len(people)
        rows_of = {p: np.array([p, p + n]) for p in people}
    out, same, fold = [], [], []
    for k in range(FOLDS):
        members = people[k::FOLDS]
        multi = [p for p in members if len(rows_of[p]) >= 2]
        for _ in range(PAIRS_PER_FOLD):
            a, b = rng.choice(rows_of[rng.choice(multi)], 2, replace=False)
            out.append((a, b))
            same.append(True)
        for _ in range(PAIRS_PER_FOLD):
            p, q = rng.choice(members, 2, replace=False)
            out.append((rng.choice(rows_of[p]), rng.choice(rows_of[q])))
            same.append(False)
        fold += [k] * (2 * PAIRS_PER_FOLD)
    return np.array(out), np.array(same), np.array(fold)


def verification(vectors: np.ndarray, pairs: np.ndarray, same: np.ndarray,
                 fold: np.ndarray) -> tuple[float, float]:
    """Mean and std of 10-fold accuracy; a faceless pair is wrong."""
    dist = np.linalg.norm(vectors[pairs[:, 0]] - vectors[pairs[:, 1]], axis=1)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    accs = []
    for k in range(FOLDS):
        train = (fold != k) & np.isfinite(dist)
        threshold = best_threshold(dist[train], same[train])
        accs.append(accuracy_at(dist[fold == k], same[fold == k], threshold))
    return float(np.mean(accs)), float(np.std(accs))


def identification(vectors: np.ndarray, person: np.ndarray) -> tuple[float, float, float]:
    """Rank-1, rank-5 (first photo vs the rest) and leave-one-out nearest-neighbour accuracy."""
    has = np.isfinite(vectors[:, 0])
    first: dict[int, int] = {}
    counts = np.bincount(person)
    for row, p in enumerate(person):
        if counts[p] >= 2 and p not in first:
            first[int(p)] = row
    probes = np.array(sorted(first.values()))
    gallery = np.setdiff1d(np.flatnonzero(has), probes)
    g_vectors = torch.from_numpy(vectors[gallery])
    hits1 = hits5 = 0
    for start in range(0, len(probes), 512):
        rows = probes[start : start + 512]
        ok = has[rows]
        dist = torch.cdist(torch.from_numpy(np.nan_to_num(vectors[rows])), g_vectors)
        order = dist.argsort(dim=1)[:, :200].numpy()
        for r, row_order, fine in zip(rows, order, ok, strict=True):
            if not fine:
                continue
            ranked = list(dict.fromkeys(person[gallery[row_order]]))[:5]
            hits1 += ranked[0] == person[r]
            hits5 += person[r] in ranked
    rows = np.flatnonzero(has)
    loo = 0
    all_vectors = torch.from_numpy(vectors[rows])
    for start in range(0, len(rows), 1024):
        dist = torch.cdist(all_vectors[start : start + 1024], all_vectors)
        dist[torch.arange(len(dist)), torch.arange(start, start + len(dist))] = np.inf
        nearest = rows[dist.argmin(dim=1).numpy()]
        loo += int((person[nearest] == person[rows[start : start + 1024]]).sum())
    return hits1 / len(probes), hits5 / len(probes), loo / len(person)


# -- report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--pipelines", default=",".join(PIPELINES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timing-images", type=int, default=50)
    parser.add_argument("--no-report", action="store_true",
                        help="only compute and cache embeddings (to run pipelines in parallel)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sets, pipelines = args.sets.split(","), args.pipelines.split(",")

    rows = []
    for name in sets:
        photos = load_set(name)
        for pipeline in pipelines:
            vectors, counts = embeddings(pipeline, photos)
            if args.no_report:
                continue
            pairs, same, fold = pairs_for(photos)
            acc, spread = verification(vectors, pairs, same, fold)
            r1, r5, loo = identification(vectors, photos.person)
            per_image = seconds_per_image(pipeline, photos, args.timing_images)
            rows.append((name, pipeline, (counts > 0).sum(), len(counts), acc, spread, r1, r5,
                         loo, per_image))
            print(f"{name} {pipeline}: faces {(counts > 0).sum()}/{len(counts)}, verification "
                  f"{acc:.4f} ± {spread:.4f}, rank-1 {r1:.4f}, rank-5 {r5:.4f}, "
                  f"leave-one-out {loo:.4f}, {per_image:.3f} s/img", flush=True)
    if args.no_report:
        return

    lines = [
        "## The face engine beside face_recognition, on every kind of photo",
        "",
        f"`make bench-faces` (`.venv/bin/python -m bench.faces`) on {machine()}. Same photos, "
        "same run, same main-face rule. Verification: 10 folds, threshold from the other 9 "
        "(LFW: View-2 pairs; others: 300 + 300 generated pairs per fold, seed 0, people "
        "disjoint across folds), mean ± std over folds. Identification: probe = each person's "
        "first photo, gallery = the rest, nearest photo; leave-one-out = each photo's nearest "
        "other photo (LFW's 4,069 one-photo people can never be right there). A photo with no "
        "face found counts as a miss everywhere. s / image: load "
        f"+ detect + align + embed every face, one photo at a time, {args.timing_images} photos "
        "spread over the set. human_seg has no names: a person there is one photo and its copy "
        "at 60% size, JPEG quality 70 (`bench/faces.py` docstring).",
        "",
        "| set | pipeline | faces found | verification | rank-1 | rank-5 | leave-one-out "
        "| s / image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, pipeline, found, total, acc, spread, r1, r5, loo, per_image in rows:
        lines.append(
            f"| {LABELS[name]} | {NAMES[pipeline]} | {found:,} / {total:,} "
            f"| {100 * acc:.2f}% ± {100 * spread:.2f} | {100 * r1:.2f}% | {100 * r5:.2f}% "
            f"| {100 * loo:.2f}% | {per_image:.3f} |")
    write_section("faces", "\n".join(lines))


if __name__ == "__main__":
    main()

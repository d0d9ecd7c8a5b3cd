"""Kinship data sets as the kinship trainer and ``bench/kinship.py`` read them, and the per-photo
face vectors they need, cached by path in one .npz per set (reruns are instant).

- FIW (Families in the Wild, train split): ``F####/MID#/*.jpg`` with a ``mid.csv`` per family
  whose cell (i, j) says what member i is to member j (1 child, 2 sibling, 3 grandchild,
  4 parent, 5 spouse, 6 grandparent), plus each member's gender. Families are split three ways
  by a fixed seed: training, validation (settings are chosen there) and test (reported).
- KinFaceW-I/II: ``images/<relation>/*.jpg`` and ``meta_data/<fd|fs|md|ms>_pairs.mat``
  (fold, kin, image 1, image 2): the standard 5-fold protocol.
"""

from __future__ import annotations

import csv
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.family.kinship import KINDS
from ml.family.resemblance import photo_vectors
from ml.images import load_image
from ml.paths import home
from ml.progress import Progress, no_progress

# Where the fetched kinship sets live (never in the repository): LOOKALIKE_KINSHIP_DATA, else
# kinship/ in the library's home.
DATA = Path(os.environ.get("LOOKALIKE_KINSHIP_DATA") or home() / "kinship")
FIW = DATA / "fiw" / "data" / "raw" / "fiw" / "train" / "train-faces"
KINFACEW = {"KinFaceW-I": DATA / "KinFaceW-I" / "KinFaceW-I",
            "KinFaceW-II": DATA / "KinFaceW-II" / "KinFaceW-II"}
CACHE = DATA / "cache"
RELATIONS = ("fd", "fs", "md", "ms")  # father-daughter, father-son, mother-daughter, mother-son
KFW_DIRS = {"fd": "father-dau", "fs": "father-son", "md": "mother-dau", "ms": "mother-son"}
FETCH = {"FIW": "fetch github:samirmehd1yev/kinship_detection, then `git --git-dir=DIR archive "
                "HEAD data/raw/fiw/train/train-faces | tar -x -C $LOOKALIKE_KINSHIP_DATA/fiw`",
         "KinFaceW": "fetch github:simran029/KinVerCNN, then `git --git-dir=DIR archive HEAD "
                     "KinFaceW-I KinFaceW-II | tar -x -C $LOOKALIKE_KINSHIP_DATA`"}
SPLIT_SEED = 26
SPLIT = {"test": 0.2, "validation": 0.15}


@dataclass(frozen=True)
class Member:
    family: str
    mid: int
    name: str
    male: bool
    photos: tuple[Path, ...]

    @property
    def key(self) -> str:
        return f"{self.family}/MID{self.mid}"


@dataclass(frozen=True)
class Family:
    id: str
    members: dict[int, Member]
    parents: tuple[tuple[int, int], ...]  # (parent mid, child mid), both with photos


def read_fiw(root: Path = FIW) -> list[Family]:
    """Every family with its members (those with photos) and parent→child links."""
    families = []
    for folder in sorted(root.glob("F[0-9]*")):
        table = folder / "mid.csv"
        if not table.exists():
            continue
        with table.open(newline="", encoding="utf-8", errors="replace") as fh:
            rows = [r for r in csv.reader(fh) if r and r[0].strip().isdigit()]
        members, links = {}, []
        for row in rows:
            mid = int(row[0])
            photos = tuple(sorted(p for p in (folder / f"MID{mid}").glob("*.jpg")
                                  if not p.name.startswith("._")))
            gender = row[-1].strip().lower()
            if photos and gender in ("m", "f"):
                members[mid] = Member(folder.name, mid, row[-2], gender == "m", photos)
            for j, cell in enumerate(row[1 : len(rows) + 1], start=1):
                if cell.strip() == "4":
                    links.append((mid, j))
        parents = tuple((p, c) for p, c in links if p in members and c in members)
        families.append(Family(folder.name, members, parents))
    return families


def split_families(families: list[Family]) -> dict[str, list[Family]]:
    """Training / validation / test by family, fixed seed: no person is in two parts."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(families))
    n_test = round(SPLIT["test"] * len(families))
    n_val = round(SPLIT["validation"] * len(families))
    parts = {"test": order[:n_test], "validation": order[n_test : n_test + n_val],
             "train": order[n_test + n_val :]}
    return {k: [families[i] for i in sorted(v)] for k, v in parts.items()}


def relation(parent: Member, child: Member) -> str:
    return ("f" if parent.male else "m") + ("s" if child.male else "d")


def read_kinfacew(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray, list[tuple[Path, Path]]]]:
    """Per relation: fold (1-5), kin (1/0) and the two photos of each standard pair."""
    out = {}
    for rel in RELATIONS:
        rows = read_mat_cells(root / "meta_data" / f"{rel}_pairs.mat")
        folds = np.array([int(r[0]) for r in rows])
        kin = np.array([int(r[1]) for r in rows])
        pairs = [(root / "images" / KFW_DIRS[rel] / str(r[2]),
                  root / "images" / KFW_DIRS[rel] / str(r[3])) for r in rows]
        out[rel] = (folds, kin, pairs)
    return out


_NUMERIC = {1: "i1", 2: "u1", 3: "<i2", 4: "<u2", 5: "<i4", 6: "<u4", 7: "<f4", 9: "<f8",
            12: "<i8", 13: "<u8"}


def read_mat_cells(path: Path) -> list[list]:
    """The one cell array of a MATLAB 5 .mat file, row by row (numbers and strings only): the
    few lines KinFaceW's pair lists need, instead of a SciPy dependency."""
    raw = path.read_bytes()[128:]
    kind, size = struct.unpack("<II", raw[:8])
    body = zlib.decompress(raw[8 : 8 + size]) if kind == 15 else raw
    value, _ = _mat_element(body, 0)
    return value


def _mat_tag(buf: bytes, at: int) -> tuple[int, int, int, int]:
    """(type, size, data start, next element) of the element at ``at``."""
    kind, size = struct.unpack("<II", buf[at : at + 8])
    if kind >> 16:  # small element: 2-byte size, data in the tag's second half
        return kind & 0xFFFF, kind >> 16, at + 4, at + 8
    return kind, size, at + 8, at + 8 + size + (-size % 8)


def _mat_element(buf: bytes, at: int):
    kind, size, start, end = _mat_tag(buf, at)
    if kind != 14:
        return np.frombuffer(buf[start : start + size], _NUMERIC.get(kind, "u1")), end
    _, _, flags_at, pos = _mat_tag(buf, start)
    cls = buf[flags_at]
    _, dsize, dims_at, pos = _mat_tag(buf, pos)
    dims = struct.unpack(f"<{dsize // 4}i", buf[dims_at : dims_at + dsize])
    _, _, _, pos = _mat_tag(buf, pos)  # name
    if cls == 1:  # cell: elements column-major
        cells = []
        for _ in range(int(np.prod(dims))):
            cell, pos = _mat_element(buf, pos)
            cells.append(cell)
        return [[cells[c * dims[0] + r] for c in range(dims[1])] for r in range(dims[0])], end
    data, _ = _mat_element(buf, pos)
    if cls == 4:  # char
        return "".join(map(chr, data)), end
    return float(data[0]) if data.size == 1 else data.astype(np.float64), end


def cached_vectors(name: str, paths: list[Path], progress: Progress = no_progress,
                   chunk: int = 256, compute: bool = True, regions: bool = True,
                   ) -> dict[Path, np.ndarray]:
    """Face + region vectors (``KINDS`` x 128) of each photo's main face, by path; photos
    without a face are left out. Cached in ``CACHE/<name>.npz``, saved every ``chunk`` photos
    so an interrupted run resumes; ``compute=False`` reads only what is cached. Without
    ``regions`` only the whole face (NaN regions), cached apart in ``<name>-face.npz``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    file = CACHE / (f"{name}.npz" if regions else f"{name}-face.npz")
    done: dict[str, np.ndarray | None] = {}
    if file.exists():
        with np.load(file, allow_pickle=False) as z:
            for p, v, ok in zip(z["paths"], z["vectors"], z["found"], strict=True):
                done[str(p)] = v if ok else None
    todo = [p for p in dict.fromkeys(paths) if str(p) not in done] if compute else []
    start = time.time()
    for n in range(0, len(todo), chunk):
        part = todo[n : n + chunk]
        found = photo_vectors([load_image(p) for p in part], regions)
        for path, vec in zip(part, found, strict=True):
            done[str(path)] = vec
        _save(file, done)
        progress(f"{name} ({(n + len(part)) / (time.time() - start):.1f} photos/s)",
                 n + len(part), len(todo))
    wanted = set(paths)
    return {Path(p): v.astype(np.float32) for p, v in done.items()
            if v is not None and Path(p) in wanted}


def _save(file: Path, done: dict[str, np.ndarray | None]) -> None:
    keys = list(done)
    vectors = np.stack([done[k] if done[k] is not None else np.zeros((len(KINDS), 128),
                                                                     np.float32)
                        for k in keys]).astype(np.float16)
    tmp = file.with_suffix(".tmp.npz")
    np.savez(tmp, paths=np.array(keys), vectors=vectors,
             found=np.array([done[k] is not None for k in keys]))
    tmp.replace(file)


def face_recognition_vectors(name: str, paths: list[Path],
                             progress: Progress = no_progress) -> dict[Path, np.ndarray]:
    """face_recognition 1.3.0's 128-d encoding of each photo's main face, as a user of that
    library would get it (HOG boxes, "small" landmarks); on a tight face crop where HOG finds
    nothing, the whole photo is the box. Cached in ``CACHE/<name>-fr.npz``."""
    import face_recognition

    CACHE.mkdir(parents=True, exist_ok=True)
    file = CACHE / f"{name}-fr.npz"
    done: dict[str, np.ndarray] = {}
    if file.exists():
        with np.load(file, allow_pickle=False) as z:
            done = {str(p): v for p, v in zip(z["paths"], z["vectors"], strict=True)}
    todo = [p for p in dict.fromkeys(paths) if str(p) not in done]
    for n, path in enumerate(todo):
        image = load_image(path)
        h, w = image.shape[:2]
        boxes = face_recognition.face_locations(image, model="hog")
        centre = np.array([h / 2, w / 2])
        box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]) * (1 - np.hypot(
            *(np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) - centre)) / max(h, w)) ** 4,
            default=(0, w, h, 0))
        vec = face_recognition.face_encodings(image, [box], model="small")[0]
        done[str(path)] = (vec / np.linalg.norm(vec)).astype(np.float32)
        if (n + 1) % 500 == 0 or n + 1 == len(todo):
            np.savez(file, paths=np.array(list(done)), vectors=np.stack(list(done.values())))
            progress(f"{name} face_recognition", n + 1, len(todo))
    wanted = set(paths)
    return {Path(p): v for p, v in done.items() if Path(p) in wanted}


def embed_all(progress: Progress = no_progress, photos_per_member: int = 2) -> None:
    """Cache the vectors of every set that is present: FIW's first photo of every member, then
    KinFaceW-II and -I, then FIW's further photos (up to ``photos_per_member``)."""
    members = [m for f in read_fiw() for m in f.members.values()] if FIW.exists() else []
    fiw = [m.photos[:1] for m in members]
    if members:
        cached_vectors("FIW", [p for ps in fiw for p in ps], progress)
    for name, root in reversed(KINFACEW.items()):
        if root.exists():
            paths = [p for rel in read_kinfacew(root).values() for pair in rel[2] for p in pair]
            cached_vectors(name, paths, progress)
    if members:
        cached_vectors("FIW", [p for m in members for p in fiw_photos(m, photos_per_member)],
                       progress)


def fiw_photos(member: Member, n: int = 2) -> tuple[Path, ...]:
    """The photos of a member that are used (embedding all 15,825 would take hours here)."""
    return member.photos[:n]


if __name__ == "__main__":
    def _print(stage: str, done: int, total: int) -> None:
        print(f"{time.strftime('%H:%M:%S')} {stage}: {done}/{total}", flush=True)

    embed_all(_print)

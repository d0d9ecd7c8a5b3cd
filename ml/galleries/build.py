"""Build and grow galleries: read photos, find the face each is about, write a version
(``ml.galleries.write``, which also removes people: that needs no model).

Like a tool people use: a progress bar (through ``ml.progress``), batched detection and
embedding, faces cached by content hash (adding ten photos embeds only those ten), bad files
skipped and counted, never a crash; and an interrupted build leaves the old gallery as it was.

Every write of a gallery goes through here or ``ml.galleries.write``: each holds the gallery's lock
(``ml.galleries.store.gallery_lock``) from reading the current version to publishing the new
one, so two writers (the CLI and the web app, say) wait for each other and neither loses the
other's edit. Photos are embedded before the lock is taken: a long embedding never holds up
another writer. ``wait`` is how long a writer waits for the lock (None: as long as it takes).
"""

from __future__ import annotations

import tarfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, replace
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from ml.faces.cache import ImageFaces
from ml.faces.detection import Face
from ml.faces.embedding import get_embedder
from ml.faces.pipeline import find_faces, main_face
from ml.faces.verify import calibration
from ml.galleries.store import (
    GALLERY_MIN_FACE,
    Gallery,
    GalleryData,
    Identity,
    SourcePhoto,
    display_name,
    gallery_lock,
    person_key,
)
from ml.galleries.write import write_version
from ml.progress import Progress, no_progress

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")
# One person under two spellings in two sources (LFW's "Luiz Inacio Lula da Silva", CFP's "Luiz
# Lula Da Silva") is merged when the names are close and the mean faces are nearer than this
# (docs/calibration.md: where the same people's and different people's mean faces lie).
SAME_PERSON_CENTROID_DISTANCE = 0.30


def scan_sources(sources: list[Path]) -> tuple[list[SourcePhoto], list[str]]:
    """Every photo under ``Person/`` folders of each source (a folder or a tar archive),
    and the folders (or sources) that held none."""
    photos: list[SourcePhoto] = []
    empty: list[str] = []
    for source in map(Path, sources):
        before = len(photos)
        if source.is_dir():
            for person in sorted(p for p in source.iterdir() if p.is_dir()):
                files = [f for f in sorted(person.iterdir())
                         if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
                photos.extend(SourcePhoto(person.name, str(f), f.read_bytes, str(source))
                              for f in files)
                if not files:
                    empty.append(str(person))
        elif source.name.endswith(ARCHIVE_SUFFIXES) and source.is_file():
            photos.extend(_scan_archive(source))
        else:
            raise FileNotFoundError(f"{source}: not a folder of Person_Name/ folders or a .tgz")
        if len(photos) == before:
            empty.append(str(source))
    return photos, empty


def _scan_archive(path: Path) -> Iterator[SourcePhoto]:
    with tarfile.open(path) as tar:
        for member in tar:
            name = Path(member.name)
            if member.isfile() and len(name.parts) >= 2 and name.suffix.lower() in IMAGE_SUFFIXES:
                data = tar.extractfile(member).read()
                yield SourcePhoto(name.parts[-2], f"{path}:{member.name}", lambda d=data: d,
                                  str(path))


def read_actors(path: Path | None) -> set[str]:
    if path is None:
        return set()
    lines = Path(path).read_text().splitlines()
    return {person_key(n) for n in lines if n.strip() and not n.startswith("#")}


def choose_faces(photos: list[SourcePhoto], found: list[ImageFaces | str],
                 threshold: float) -> tuple[dict[int, int], list[str]]:
    """Which face of each photo shows the folder's person: photo index → face index.

    One face: that one. Several (LFW photos show bystanders): the one nearest the centroid of the
    person's single-face photos; with no such photos, the large face nearest the centre. Photos
    where the choice is unsure are reported as ambiguous (and still used).
    """
    chosen: dict[int, int] = {}
    ambiguous: list[str] = []
    single: dict[str, list[np.ndarray]] = defaultdict(list)
    for photo, item in zip(photos, found, strict=True):
        if isinstance(item, ImageFaces) and len(item.faces) == 1:
            single[person_key(photo.person)].append(item.vectors[0])
    for i, (photo, item) in enumerate(zip(photos, found, strict=True)):
        if not isinstance(item, ImageFaces) or not item.faces:
            continue
        if len(item.faces) == 1:
            chosen[i] = 0
            continue
        centre = _central(item)
        mates = single.get(person_key(photo.person))
        if mates:
            centroid = np.mean(mates, axis=0)
            dist = np.linalg.norm(item.vectors - centroid / np.linalg.norm(centroid), axis=1)
            chosen[i] = int(np.argmin(dist))
            if dist.min() > threshold:
                ambiguous.append(f"{photo.source}: no face like {photo.person}'s other photos")
        else:
            chosen[i] = centre
            areas = sorted((f.width * f.height for f in item.faces), reverse=True)
            if areas[1] > 0.5 * areas[0]:
                ambiguous.append(f"{photo.source}: {len(item.faces)} faces of similar size")
    return chosen, ambiguous


def _central(item: ImageFaces) -> int:
    face = main_face(item.faces, item.width, item.height)
    return next(i for i, f in enumerate(item.faces) if f is face)


def quality(face: Face) -> float:
    """0-1: confident, big enough, frontal (nose between the eyes) faces score high."""
    left, right, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_span = max(1.0, float(np.linalg.norm(right - left)))
    off_centre = abs(float(nose[0] - (left[0] + right[0]) / 2)) / eye_span
    size = min(1.0, min(face.width, face.height) / 112.0)
    return float(face.score * size * max(0.0, 1.0 - off_centre))


# -- building -----------------------------------------------------------------------------


def collect(photos: list[SourcePhoto], actors: set[str], embedder: str | None,
            progress: Progress) -> tuple[GalleryData, dict[str, tuple[SourcePhoto, Face]]]:
    """Photos → gallery data (faces by identity) and the best photo of each identity."""
    model = get_embedder(embedder)
    found = find_faces(photos, model.name, progress, min_face=GALLERY_MIN_FACE)
    chosen, ambiguous = choose_faces(photos, found, calibration(model.name)["threshold"])
    identities: dict[str, Identity] = {}
    rows: list[tuple[str, np.ndarray, str, float, Face]] = []
    best: dict[str, tuple[float, SourcePhoto, Face]] = {}
    origins: dict[str, set[str]] = defaultdict(set)
    for i, photo in enumerate(photos):
        if i not in chosen:
            continue
        item, face_index = found[i], chosen[i]
        face = item.faces[face_index]
        key = person_key(photo.person)
        if key not in identities:
            identities[key] = Identity(key, display_name(photo.person), key in actors, 0)
        identities[key].photos += 1
        origins[key].add(photo.collection)
        q = quality(face)
        rows.append((key, item.vectors[face_index], photo.source, q, face))
        if key not in best or q > best[key][0]:
            best[key] = (q, photo, face)
    merges = same_people(identities, rows, origins)
    merged = [f"{identities[a].name} -> {identities[b].name}" for a, b in merges.items()]
    for dup, keep in merges.items():
        identities[keep].photos += identities[dup].photos
        identities[keep].actor |= identities[dup].actor
        identities[keep].aliases.append(identities.pop(dup).name)
        if best[dup][0] > best[keep][0]:
            best[keep] = best[dup]
        del best[dup]
    rows = [(merges.get(r[0], r[0]), *r[1:]) for r in rows]
    order = {key: n for n, key in enumerate(identities)}
    report = {
        "photos": len(photos),
        "faces": len(rows),
        "identities": len(identities),
        "no_face": [p.source for p, f in zip(photos, found, strict=True)
                    if isinstance(f, ImageFaces) and not f.faces],
        "unreadable": [f"{p.source}: {f}" for p, f in zip(photos, found, strict=True)
                       if isinstance(f, str)],
        "ambiguous": ambiguous,
        "merged": merged,
    }
    data = GalleryData(
        embedder=model.name,
        identities=list(identities.values()),
        vectors=np.array([r[1] for r in rows], np.float32).reshape(-1, model.dim),
        identity=np.array([order[r[0]] for r in rows], np.int32),
        source=[r[2] for r in rows],
        quality=np.array([r[3] for r in rows], np.float32),
        box=np.array([r[4].box for r in rows], np.float32).reshape(-1, 4),
        report=report,
    )
    return data, {key: (photo, face) for key, (_, photo, face) in best.items()}


def same_people(identities: dict[str, Identity], rows: list[tuple],
                origins: dict[str, set[str]]) -> dict[str, str]:
    """Identities that are one person spelled differently by different sources: each duplicate's
    key → the key it merges into (the one with more photos). Both the faces (mean embeddings
    nearer than ``SAME_PERSON_CENTROID_DISTANCE``) and the names (``names_close``) must agree;
    people from the same source are never merged (a source names each person once)."""
    vectors: dict[str, list[np.ndarray]] = defaultdict(list)
    for key, vector, *_ in rows:
        vectors[key].append(vector)
    keys = [k for k in identities if vectors[k]]
    if len({c for k in keys for c in origins[k]}) < 2:
        return {}
    centroids = np.stack([np.mean(vectors[k], axis=0) for k in keys])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    merged: dict[str, str] = {}
    taken: set[str] = set()
    for start in range(0, len(keys), 1024):
        block = centroids[start : start + 1024]
        dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * block @ centroids.T))
        for i, j in zip(*np.nonzero(dist < SAME_PERSON_CENTROID_DISTANCE), strict=True):
            a, b = keys[start + i], keys[j]
            if (start + i >= j or a in taken or b in taken or origins[a] & origins[b]
                    or not names_close(a, b)):
                continue
            dup, keep = sorted((a, b), key=lambda k: (identities[k].photos, k))
            merged[dup] = keep
            taken |= {a, b}
    return merged


def names_close(a: str, b: str) -> bool:
    """Two person keys that may name one person: the same surname and first initial
    (``luiz_inacio_lula_da_silva`` / ``luiz_lula_da_silva``), or a near-identical spelling."""
    ta, tb = a.split("_"), b.split("_")
    if ta[-1] == tb[-1] and ta[0][:1] == tb[0][:1]:
        return True
    return SequenceMatcher(None, a, b).ratio() >= 0.9


def build(name: str, sources: list[Path], actors_file: Path | None = None,
          embedder: str | None = None, progress: Progress = no_progress,
          known_min_photos: int = 0, wait: float | None = None) -> GalleryData:
    """Build gallery ``name`` from scratch out of ``sources``; returns what was written.

    ``known_min_photos``: lookalikes come only from actors and people with at least this many
    photos (a celebrity gallery: ``ml.galleries.ranking.KNOWN_MIN_PHOTOS``)."""
    photos, empty = scan_sources(sources)
    data, best = collect(photos, read_actors(actors_file), embedder, progress)
    data.report["empty"] = empty
    write_version(name, data, best, {"sources": [str(s) for s in sources],
                                     "actors_file": str(actors_file) if actors_file else None,
                                     "known_min_photos": known_min_photos}, progress, wait=wait)
    return data


def add(name: str, sources: list[Path], progress: Progress = no_progress,
        wait: float | None = None) -> GalleryData:
    """Add the photos under ``sources`` to gallery ``name`` (people merged by name)."""
    before = Gallery.open(name)
    photos, empty = scan_sources(sources)
    actors = read_actors(before.meta.get("actors_file")) | {
        i.key for i in before.identities if i.actor
    }
    new, best = collect(photos, actors, before.embedder, progress)
    new.report["empty"] = empty
    if len(new.vectors) == 0:  # no face in any new photo: the gallery stays as it was
        return replace(before.data(), report={**new.report, "identities": len(before.identities)})
    with gallery_lock(name, wait):
        current = Gallery.open(name)  # with whatever another writer added meanwhile
        merged = _merge(current.data(), new)
        meta = {**current.meta,
                "sources": current.meta.get("sources", []) + [str(s) for s in sources]}
        write_version(name, merged, best, meta, progress, previous=current)
    return merged


def _merge(old: GalleryData, new: GalleryData) -> GalleryData:
    if old.embedder != new.embedder:
        raise ValueError("cannot merge galleries made by different embedders")
    identities = [Identity(**asdict(i)) for i in old.identities]
    index = {i.key: n for n, i in enumerate(identities)}
    for ident in new.identities:
        if ident.key in index:
            identities[index[ident.key]].photos += ident.photos
        else:
            index[ident.key] = len(identities)
            identities.append(Identity(**asdict(ident)))
    new_ids = np.array([index[new.identities[i].key] for i in new.identity], np.int32)
    report = {k: (old.report.get(k, 0) + v if isinstance(v, int) else old.report.get(k, []) + v)
              for k, v in new.report.items()}
    report["identities"] = len(identities)
    return GalleryData(
        old.embedder, identities, np.concatenate([old.vectors, new.vectors]),
        np.concatenate([old.identity, new_ids]), old.source + new.source,
        np.concatenate([old.quality, new.quality]), np.concatenate([old.box, new.box]), report,
    )

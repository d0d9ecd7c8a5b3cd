"""Write a gallery's new version, and remove people from one: the part of gallery writing that
needs no model, so the web process can remove a person without loading torch or OpenCV.

A version is written complete beside the current one (``.NAME.TIMESTAMP.HEX``), then the
gallery's symlink is swapped atomically; all under the gallery's lock
(``ml.galleries.store.gallery_lock``), which every writer (``ml.galleries.build``, the CLI, the
web app's workers) holds from reading the current version to publishing the new one.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.errors import NoFaces, PersonNotFound
from ml.files import atomic_symlink
from ml.galleries.store import (
    N_TREES,
    Gallery,
    GalleryData,
    SourcePhoto,
    gallery_lock,
    gallery_path,
    person_key,
)
from ml.progress import Progress, no_progress

if TYPE_CHECKING:
    from ml.faces.detection import Face

THUMB_SIZE = 160


def remove(name: str, people: list[str], progress: Progress = no_progress,
           wait: float | None = None) -> list[str]:
    """Remove ``people`` (by name) from gallery ``name``; returns the names removed."""
    with gallery_lock(name, wait):
        current = Gallery.open(name)
        data = current.data()
        keys = {person_key(p) for p in people}
        missing = keys - {i.key for i in data.identities}
        if missing:
            raise PersonNotFound(f"not in gallery '{name}': {', '.join(sorted(missing))}")
        keep_ids = [n for n, i in enumerate(data.identities) if i.key not in keys]
        remap = {old: new for new, old in enumerate(keep_ids)}
        rows = np.flatnonzero(np.isin(data.identity, keep_ids))
        kept = GalleryData(
            data.embedder, [data.identities[n] for n in keep_ids], data.vectors[rows],
            np.array([remap[int(i)] for i in data.identity[rows]], np.int32),
            [data.source[r] for r in rows], data.quality[rows], data.box[rows], data.report,
        )
        write_version(name, kept, {}, current.meta, progress, previous=current)
    return [i.name for i in data.identities if i.key in keys]


def write_version(name: str, data: GalleryData, best: dict[str, tuple[SourcePhoto, Face]],
                  meta: dict, progress: Progress = no_progress,
                  previous: Gallery | None = None, wait: float | None = None) -> Path:
    """Write a complete new version beside the current one, then swap the symlink atomically;
    under the gallery's lock (taken here unless the caller holds it)."""
    if len(data.vectors) == 0:
        raise NoFaces("no faces found in any photo: nothing to put in a gallery"
                         + (f" (empty: {', '.join(data.report['empty'][:5])})"
                            if data.report.get("empty") else ""))
    link = gallery_path(name)
    root = link.parent
    with gallery_lock(name, wait):
        # Every writer holds the lock, so another ``.building`` folder is a dead writer's.
        for stale in _versions(root, name, building=True):
            shutil.rmtree(stale, ignore_errors=True)
        version = root / f".{name}.{time.strftime('%Y%m%d%H%M%S')}.{uuid.uuid4().hex[:8]}"
        building = version.with_name(version.name + ".building")
        (building / "thumbs").mkdir(parents=True)
        try:
            _write_files(building, name, data, best, meta, previous, progress)
            building.rename(version)
        except BaseException:  # Ctrl-C or a failure: the gallery stays as it was
            shutil.rmtree(building, ignore_errors=True)
            raise
        atomic_symlink(version.name, link)
        _prune(root, name, keep={version.name, previous.version.name if previous else ""})
    return version


def _write_files(folder: Path, name: str, data: GalleryData,
                 best: dict[str, tuple[SourcePhoto, Face]], meta: dict,
                 previous: Gallery | None, progress: Progress) -> None:
    """A version's files: thumbnails, the faces' arrays, the two Annoy indexes, meta.json."""
    from annoy import AnnoyIndex

    _write_thumbnails(folder / "thumbs", data, best, previous, progress)
    np.savez(folder / "faces.npz", vectors=data.vectors, identity=data.identity,
             source=np.array(data.source), quality=data.quality, box=data.box)
    progress("indexing", 0, 1)
    is_actor = np.array([data.identities[i].actor for i in data.identity], bool)
    for file, rows in (("index.ann", np.arange(len(data.vectors))),
                       ("actors.ann", np.flatnonzero(is_actor))):
        index = AnnoyIndex(data.vectors.shape[1], "angular")
        for item, row in enumerate(rows):
            index.add_item(item, data.vectors[row])
        index.build(N_TREES, n_jobs=-1)
        index.save(str(folder / file))
        index.unload()
    progress("indexing", 1, 1)
    meta = {**meta, "name": name, "embedder": data.embedder, "n_trees": N_TREES,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "identities": [asdict(i) for i in data.identities], "report": data.report}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))


def _versions(root: Path, name: str, building: bool = False) -> list[Path]:
    """This gallery's version folders (``.NAME.TIMESTAMP.HEX``), never those of a gallery whose
    name merely starts with NAME (``a`` vs ``a.b``)."""
    suffix = r"\.building" if building else ""
    pattern = re.compile(rf"\.{re.escape(name)}\.\d{{14}}\.[0-9a-f]{{8}}{suffix}")
    return [p for p in root.glob(f".{name}.*") if p.is_dir() and pattern.fullmatch(p.name)]


def _prune(root: Path, name: str, keep: set[str]) -> None:
    """Delete old versions but the new one and the one before (readers may be opening it)."""
    versions = sorted(_versions(root, name), key=lambda p: p.stat().st_mtime)
    for old in versions[:-2]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _write_thumbnails(folder: Path, data: GalleryData, best: dict[str, tuple[SourcePhoto, Face]],
                      previous: Gallery | None, progress: Progress) -> None:
    """A thumbnail per identity: cut from its best new photo, else kept from the version before
    (removing people cuts none, so it needs neither OpenCV nor the aligner)."""
    todo = [i for i in data.identities if i.key in best]
    if todo:
        _cut_thumbnails(folder, todo, best, progress)
    if previous is not None:  # identities that got no new photo keep their thumbnail
        for ident in data.identities:
            if ident.key not in best and ident.thumbnail:
                src = previous.version / "thumbs" / ident.thumbnail
                if src.exists():
                    shutil.copy2(src, folder / ident.thumbnail)


def _cut_thumbnails(folder: Path, todo: list, best: dict[str, tuple[SourcePhoto, Face]],
                    progress: Progress) -> None:
    import cv2

    from ml.faces.alignment import crop_box
    from ml.images import ImageError, load_image

    for n, ident in enumerate(todo):
        photo, face = best[ident.key]
        try:
            chip = crop_box(load_image(photo.read()), face, THUMB_SIZE, margin=0.5)
        except (ImageError, OSError):
            continue
        ident.thumbnail = f"{ident.key}.jpg"
        cv2.imwrite(str(folder / ident.thumbnail), cv2.cvtColor(chip, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 88])
        if n % 200 == 0 or n == len(todo) - 1:
            progress("thumbnails", n + 1, len(todo))

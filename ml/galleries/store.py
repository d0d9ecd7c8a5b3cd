"""Galleries of labelled faces and the lookalike search over them.

A gallery is built from folders laid out ``Person_Name/*.jpg`` (or LFW-style ``.tgz`` archives).
Per face it stores the embedding, the identity, the source photo and a quality score; per
identity a display thumbnail. An Annoy index (angular metric = Euclidean distance between unit
vectors, the face engine's distance) is memory-mapped, so worker processes share one copy.

On disk, ``$LOOKALIKE_HOME/galleries/NAME`` is a symlink to one immutable version directory.
Every change writes a complete new version beside it and swaps the symlink atomically, so an
interrupted build (Ctrl-C) leaves the previous gallery intact and queries never see half a
gallery. The previous version is kept until the next change, for readers still opening it.
Every change (``ml.galleries.build``: build, add; ``ml.galleries.write``: remove, write a
version; and ``delete_gallery``) holds the gallery's one write lock, ``gallery_lock``, whoever
calls it: the CLI, the web app, the default-gallery preparer.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.errors import BadGalleryName, GalleryBuilding, GalleryNotFound
from ml.faces.verify import similarity
from ml.files import file_lock
from ml.galleries.ranking import distances, profiles, top_k, unit
from ml.paths import data_dir, home
from ml.settings import settings

if TYPE_CHECKING:  # the embedder's module loads torch: the web reads galleries without it
    from ml.faces.embedding import Embeddings

DEFAULT_GALLERY = "celebrities"
# The default gallery's folders in the data directory (those present are used).
DEFAULT_SOURCES = ("lfw", "cfp", "pins", "hollywood", "kpop", "bollywood")
# Gallery photos are about one face, never a tiny one: looking only for faces at least this
# wide (detector pixels) makes detection 2-3x faster and found every face the default (20) did
# on samples of LFW, CFP and Bollywood (docs/benchmarks.md, identification section).
# Part of a built gallery's fingerprint (ml.galleries.prepare); used by ml.galleries.build.
GALLERY_MIN_FACE = 40
# Chosen in docs/benchmarks.md (bench/index.py): recall@10 vs latency on the real gallery.
N_TREES = 32
SEARCH_K = 20_000
# Identity score: max similarity over its photos (bench/identification.py measured max vs mean).
AGGREGATE_TOP_M = 1
# "No close match": the best lookalike is not closer than 90% of LFW stranger pairs.
NO_CLOSE_MATCH_SIMILARITY = 45.0


# -- names --------------------------------------------------------------------------------


def person_key(name: str) -> str:
    """The identity key used to merge sources: accents, case, spaces and punctuation folded."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")


def display_name(folder: str) -> str:
    return folder.replace("_", " ").strip()


# -- the stored gallery -------------------------------------------------------------------


@dataclass(frozen=True)
class SourcePhoto:
    """A photo a gallery is built from."""

    person: str  # the folder name
    source: str  # what we show users: a path, or archive.tgz:member
    read: Callable[[], bytes]
    collection: str = ""  # the folder or archive it was found in


@dataclass
class Identity:
    key: str
    name: str
    actor: bool
    photos: int
    thumbnail: str | None = None  # file name inside the version's thumbs/
    aliases: list[str] = field(default_factory=list)  # other sources' spellings, merged in


@dataclass
class GalleryData:
    """Everything a gallery version holds; faces are rows of the arrays."""

    embedder: str
    identities: list[Identity]
    vectors: np.ndarray  # (N, D) float32 unit vectors
    identity: np.ndarray  # (N,) int32 index into identities
    source: list[str]  # (N,) source photo of each face
    quality: np.ndarray  # (N,) float32
    box: np.ndarray  # (N, 4) float32, in the source photo
    report: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lookalike:
    name: str
    key: str
    similarity: float  # percent (ml.faces.verify calibration)
    distance: float
    actor: bool
    photo: str  # the best-matching source photo
    thumbnail: str | None  # absolute path of the identity's thumbnail

    def to_dict(self) -> dict:
        return {"name": self.name, "similarity": round(self.similarity, 1),
                "distance": round(self.distance, 4), "actor": self.actor, "photo": self.photo,
                "thumbnail": self.thumbnail}


def default_sources() -> tuple[list[Path], Path | None]:
    """The ``celebrities`` gallery: LFW, CFP, Pins, Hollywood, K-pop and Bollywood from the data
    directory (one person in several folders is one identity), unless the settings name other
    sources (``LOOKALIKE_GALLERY_SOURCES``, ``LOOKALIKE_GALLERY_ACTORS``)."""
    configured = settings()
    if configured.gallery_sources:
        return list(configured.gallery_sources), configured.gallery_actors
    root = data_dir()
    folders = [root / f for f in DEFAULT_SOURCES]
    return [f for f in folders if f.is_dir()], root / "actors.txt"


def galleries_dir() -> Path:
    path = home() / "galleries"
    path.mkdir(parents=True, exist_ok=True)
    return path


# A gallery that belongs to a web account is stored as "OWNER@NAME" (the web app shows NAME to
# OWNER alone; ``lookalike gallery build NAME --owner OWNER`` makes one); one without "@" is the
# server's own (the web app's admin sees it).
GALLERY_NAME = re.compile(r"([a-z0-9][a-z0-9_.-]{0,31}@)?[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def gallery_path(name: str) -> Path:
    if not GALLERY_NAME.fullmatch(name):
        raise BadGalleryName(f"bad gallery name {name!r}: use letters, digits, '.', '_' or '-'")
    return galleries_dir() / name


def owned_name(owner: str | None, name: str) -> str:
    """The stored name of ``owner``'s gallery ``name`` (``name`` itself without an owner)."""
    return f"{owner}@{name}" if owner else name


def lock_path(name: str) -> Path:
    return gallery_path(name).with_name(f".{name}.build.lock")


@contextmanager
def gallery_lock(name: str, wait: float | None = None) -> Iterator[None]:
    """The one lock every change to gallery ``name`` holds, in every process (an OS ``flock``:
    the kernel releases it when its holder dies). ``wait``: seconds to wait for another writer
    (None: as long as it takes), then ``GalleryBuilding``. A holder may call code that takes it
    again (build's ``add`` inside the web's check-then-add)."""
    busy = GalleryBuilding(f"the '{name}' gallery is being built or changed by another "
                           "process: try again when it is done")
    with file_lock(lock_path(name), wait, busy):
        yield


def delete_gallery(name: str, wait: float | None = None) -> bool:
    """Remove a gallery, under its write lock: its link first (readers see it gone at once),
    then its versions, its status and its lock file (a writer waiting for the lock then finds
    no gallery)."""
    link = gallery_path(name)
    versions = re.compile(rf"\.{re.escape(name)}\.(\d{{14}}\.[0-9a-f]{{8}}(\.building)?"
                          r"|build\.json|build\.lock|\d+\.[0-9a-f]{8}\.tmp)")
    with gallery_lock(name, wait):
        existed = link.is_symlink()
        link.unlink(missing_ok=True)
        for path in link.parent.iterdir():
            if versions.fullmatch(path.name):
                if path.is_symlink() or path.is_file():
                    path.unlink(missing_ok=True)
                else:
                    shutil.rmtree(path, ignore_errors=True)
    return existed


def list_galleries() -> list[str]:
    return sorted(p.name for p in galleries_dir().iterdir() if p.is_symlink() and p.exists())


class Gallery:
    """A loaded gallery version: arrays in memory, Annoy indexes memory-mapped."""

    def __init__(self, name: str, version: Path) -> None:
        from annoy import AnnoyIndex

        meta = json.loads((version / "meta.json").read_text())
        arrays = np.load(version / "faces.npz")
        self.name, self.version, self.meta = name, version, meta
        self.embedder = meta["embedder"]
        self.identities = [Identity(**i) for i in meta["identities"]]
        self.vectors = arrays["vectors"]
        self.identity = arrays["identity"]
        self.source = [str(s) for s in arrays["source"]]
        self.quality = arrays["quality"]
        dim = self.vectors.shape[1]
        self.index = AnnoyIndex(dim, "angular")
        self.index.load(str(version / "index.ann"))
        self.actor_rows = np.flatnonzero([self.identities[i].actor for i in self.identity])
        # Lookalikes rank identities by their centroid (``ml.galleries.ranking``); a gallery
        # built with ``known_min_photos`` (the default one) answers with known people only.
        self.centroids = unit(profiles(self.vectors, self.identity, len(self.identities)))
        min_photos = int(meta.get("known_min_photos") or 0)
        counts = np.bincount(self.identity, minlength=len(self.identities))
        self.actor = np.array([i.actor for i in self.identities], bool)
        self.lookalike_candidates = (counts > 0) & (self.actor | (counts >= min_photos))
        self._rows_of = np.split(np.argsort(self.identity, kind="stable"),
                                 np.cumsum(counts)[:-1])
        self.actor_index = None
        if len(self.actor_rows):
            self.actor_index = AnnoyIndex(dim, "angular")
            self.actor_index.load(str(version / "actors.ann"))

    @classmethod
    def open(cls, name: str = DEFAULT_GALLERY) -> Gallery:
        link = gallery_path(name)
        for attempt in range(3):  # a concurrent rebuild may delete a version between steps
            if not link.exists():
                raise GalleryNotFound(
                    f"no gallery named '{name}': build it with `lookalike gallery build {name} "
                    "--from DIR`" + (" (or `lookalike gallery build celebrities`)"
                                     if name == DEFAULT_GALLERY else "")
                )
            try:
                return cls(name, link.resolve(strict=True))
            except (FileNotFoundError, OSError):
                if attempt == 2:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")

    def __len__(self) -> int:
        return len(self.vectors)

    def thumbnail_path(self, identity: Identity) -> str | None:
        return str(self.version / "thumbs" / identity.thumbnail) if identity.thumbnail else None

    def _check(self, embeddings: Embeddings) -> None:
        if embeddings.embedder != self.embedder:
            raise ValueError(
                f"gallery '{self.name}' was built with the '{self.embedder}' embedder; faces "
                f"embedded by '{embeddings.embedder}' cannot be searched in it"
            )

    def lookalikes(self, embeddings: Embeddings, k: int = 5, actors_only: bool = False,
                   exclude: set[str] = frozenset()) -> list[list[Lookalike]]:
        """Who each face in ``embeddings`` looks like: the top-``k`` identities by the
        distance to their centroid (all their photos at once), best first. For several photos
        of one person, pass their profile (``ml.galleries.ranking.profile_of``)."""
        self._check(embeddings)
        allowed = self.lookalike_candidates & (self.actor if actors_only else True)
        if exclude:
            allowed = allowed & ~np.isin([i.key for i in self.identities], list(exclude))
        out = []
        for query, dist in zip(embeddings.vectors, distances(unit(embeddings.vectors),
                                                               self.centroids), strict=True):
            ranked = []
            for ident in top_k(dist, allowed, k):
                who = self.identities[ident]
                rows = self._rows_of[ident]
                nearest = rows[int(np.argmax(self.vectors[rows] @ query))]
                ranked.append(Lookalike(who.name, who.key,
                                        float(similarity(dist[ident], self.embedder)),
                                        float(dist[ident]), who.actor, self.source[nearest],
                                        self.thumbnail_path(who)))
            out.append(ranked)
        return out

    def nearest_people(self, embeddings: Embeddings, k: int = 5, actors_only: bool = False,
                       exclude: set[str] = frozenset(),
                       top_m: int = AGGREGATE_TOP_M) -> list[list[Lookalike]]:
        """Who each face in ``embeddings`` *is*: the top-``k`` identities by their nearest
        photo (identification: a person's own photo finds them), best first.

        An identity scores the mean distance of its ``top_m`` nearest photos (1 = nearest)."""
        self._check(embeddings)
        index, rows = (self.actor_index, self.actor_rows) if actors_only else (
            self.index, None)
        if index is None:
            return [[] for _ in range(len(embeddings))]
        size = len(rows) if rows is not None else len(self)
        first = min(size, max(100, 20 * (k + len(exclude))))
        results = []
        for vector in embeddings.vectors:
            wanted = first
            while True:  # a person with hundreds of photos can fill the first candidates alone
                items, dists = index.get_nns_by_vector(
                    vector.tolist(), wanted, search_k=max(SEARCH_K, wanted * N_TREES),
                    include_distances=True)
                faces = np.asarray(items) if rows is None else rows[np.asarray(items, int)]
                ranked = self._rank(faces, np.asarray(dists), k, exclude, top_m)
                if len(ranked) >= k or wanted >= size:
                    break
                wanted = min(size, wanted * 4)
            results.append(ranked)
        return results

    def _rank(self, faces: np.ndarray, dists: np.ndarray, k: int, exclude: set[str],
              top_m: int) -> list[Lookalike]:
        per_identity: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for face, dist in zip(faces, dists, strict=True):
            per_identity[int(self.identity[face])].append((float(dist), int(face)))
        scored = []
        for ident, hits in per_identity.items():
            if self.identities[ident].key in exclude:
                continue
            hits.sort()
            score = float(np.mean([d for d, _ in hits[:top_m]]))
            scored.append((score, ident, hits[0][1]))
        scored.sort()
        out = []
        for score, ident, face in scored[:k]:
            who = self.identities[ident]
            out.append(Lookalike(who.name, who.key, float(similarity(score, self.embedder)),
                                 score, who.actor, self.source[face],
                                 self.thumbnail_path(who)))
        return out

    def data(self) -> GalleryData:
        arrays = np.load(self.version / "faces.npz")
        return GalleryData(self.embedder, [Identity(**asdict(i)) for i in self.identities],
                           arrays["vectors"], arrays["identity"], self.source, arrays["quality"],
                           arrays["box"], self.meta.get("report", {}))

    def info(self) -> dict:
        return {"name": self.name, "embedder": self.embedder, "faces": len(self),
                "identities": len(self.identities),
                "actors": sum(i.actor for i in self.identities),
                "built": self.meta.get("built"), "sources": self.meta.get("sources", []),
                "report": self.meta.get("report", {})}


def no_close_match(lookalikes: list[Lookalike]) -> bool:
    return not lookalikes or lookalikes[0].similarity < NO_CLOSE_MATCH_SIMILARITY

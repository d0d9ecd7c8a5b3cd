"""The default gallery, prepared in the background so the app is useful at once.

``prepare_default_gallery`` builds in two steps: the film and TV actors first (a few thousand
photos: lookalikes after a few minutes), published as a partial version, then everyone,
published as the complete one. A restart resumes: every photo embedded before comes from the
face cache. One build at a time: the builder holds the gallery's write lock
(``ml.galleries.store.gallery_lock``, an OS ``flock`` the kernel releases if the builder dies)
for the whole build, so neither another builder nor another writer (``lookalike gallery add``)
runs meanwhile. Progress goes to a small JSON status file that any process (the web app, the
CLI) reads with ``build_status``.
"""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path

from ml.errors import GalleryBuilding
from ml.faces.versions import default_embedder_name, fingerprint
from ml.files import is_locked, write_json
from ml.galleries.ranking import KNOWN_MIN_PHOTOS
from ml.galleries.store import (
    DEFAULT_GALLERY,
    GALLERY_MIN_FACE,
    Gallery,
    default_sources,
    galleries_dir,
    gallery_lock,
    gallery_path,
    lock_path,
    person_key,
)
from ml.progress import Progress, no_progress

STATUS_EVERY = 2.0  # seconds between status-file writes
RATE_WINDOW = 60.0  # seconds of progress the rate (and so the ETA) is measured over


def status_path(name: str) -> Path:
    return galleries_dir() / f".{name}.build.json"


def is_building(name: str) -> bool:
    """Whether a writer holds the gallery's lock (a probe holds it for a moment only: a builder
    that starts meanwhile waits for it, ``prepare_default_gallery``)."""
    return is_locked(lock_path(name))


def current_fingerprint() -> str:
    """What a gallery built now would be made with: a version made otherwise (an older detector
    or template, other sources, another lookalike rule) is rebuilt in the background, and served
    until the new one is ready."""
    sources = "+".join(Path(s).name for s in default_sources()[0])
    return (f"{fingerprint(default_embedder_name())}-min{GALLERY_MIN_FACE}-{sources}"
            f"-known{KNOWN_MIN_PHOTOS}")


def _meta(name: str) -> dict | None:
    try:
        return json.loads((gallery_path(name) / "meta.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_complete(name: str) -> bool:
    """A version exists, it is not a partial one, and it was made the way we make them now."""
    meta = _meta(name)
    return bool(meta and meta.get("complete", True)
                and meta.get("fingerprint") == current_fingerprint())


def build_status(name: str = DEFAULT_GALLERY) -> dict:
    """Where the gallery stands: ``state`` is ``ready`` (complete), ``building`` (a builder
    holds the lock; ``partial`` says whether a first version already serves lookalikes),
    ``waiting`` (incomplete and nobody building: a worker will pick it up) or ``failed``;
    with ``done`` / ``total`` photos, ``eta_seconds`` and ``identities`` where known."""
    try:
        status = json.loads(status_path(name).read_text())
    except (OSError, json.JSONDecodeError):
        status = {}
    exists = gallery_path(name).exists()
    complete = exists and is_complete(name)
    if complete:
        state = "ready"
    elif is_building(name):
        state = "building"
    elif status.get("state") == "failed":
        state = "failed"
    else:
        state = "waiting"
    return {"name": name, "state": state, "partial": exists and not complete,
            "stage": status.get("stage"), "done": status.get("done", 0),
            "total": status.get("total"), "eta_seconds": status.get("eta_seconds"),
            "identities": status.get("identities"), "error": status.get("error")}


class _StatusWriter:
    """A ``Progress`` that also writes the status file (every ``STATUS_EVERY`` seconds)."""

    def __init__(self, name: str, total: int, progress: Progress) -> None:
        self.name, self.total, self.progress = name, total, progress
        # Photos known to be cached already count as done (the second pass reads them again
        # in a moment); ``done`` is what the status file says.
        self.stage, self.floor, self.done, self.identities = "actors", 0, 0, None
        self.samples: deque[tuple[float, int]] = deque()
        self.written = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.progress(stage, done, total)
        if stage != "embedding":
            return
        overall = self.done = min(self.total, max(self.floor, done))
        now = time.monotonic()
        self.samples.append((now, overall))
        while self.samples and now - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()
        if now - self.written >= STATUS_EVERY or done == total:
            self.write("building", overall)

    def write(self, state: str, done: int, error: str | None = None) -> None:
        self.written = time.monotonic()
        eta = None
        if len(self.samples) >= 2:
            (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
            if d1 > d0 and t1 > t0:
                eta = round((self.total - done) / ((d1 - d0) / (t1 - t0)))
        write_json(status_path(self.name), {
            "state": state, "stage": self.stage, "done": done, "total": self.total,
            "eta_seconds": eta, "identities": self.identities, "error": error,
            "updated": time.time()})


def prepare_default_gallery(progress: Progress = no_progress,
                            name: str = DEFAULT_GALLERY) -> Gallery:
    """Build the default gallery, or finish building it: actors first, then everyone.

    Raises ``GalleryBuilding`` if another process is building it now."""
    # Here, not at the top: ``build_status`` is read by the web app, which never loads torch.
    from ml.galleries.build import collect, read_actors, scan_sources
    from ml.galleries.write import write_version

    with gallery_lock(name, wait=2.0):  # not put off by a status probe holding it a moment
        if gallery_path(name).exists() and is_complete(name):
            return Gallery.open(name)
        status = _StatusWriter(name, 0, progress)
        try:
            sources, actors_file = default_sources()
            photos, empty = scan_sources(sources)
            actors = read_actors(actors_file)
            meta = {"sources": [str(s) for s in sources],
                    "actors_file": str(actors_file) if actors_file else None,
                    "fingerprint": current_fingerprint(), "known_min_photos": KNOWN_MIN_PHOTOS}
            first = [p for p in photos if person_key(p.person) in actors]
            rest = [p for p in photos if person_key(p.person) not in actors]
            status.total = len(photos)
            cached = 0  # photos at the front of the list that the face cache already holds
            earlier = _meta(name)
            if earlier and earlier.get("fingerprint") == current_fingerprint():
                cached = len(first)  # our own partial version: its actors are cached
            elif earlier is None and first and rest:  # (an older version serves meanwhile)
                data, best = collect(first, actors, None, status)
                data.report["empty"] = empty
                write_version(name, data, best, {**meta, "complete": False}, progress)
                cached = len(first)
            status.stage, status.floor = "everyone", cached
            data, best = collect(first + rest, actors, None, status)
            data.report["empty"] = empty
            write_version(name, data, best, {**meta, "complete": True}, progress)
            status.identities = len(data.identities)
            status.write("ready", len(photos))
        except BaseException as exc:  # Ctrl-C or a crash: say so; the next build resumes
            status.write("failed", status.done, error=str(exc) or type(exc).__name__)
            raise
        return Gallery.open(name)


def ensure_default_gallery(progress: Progress = no_progress) -> Gallery:
    """Open ``celebrities``, building it first (several minutes, with progress) if it is not
    complete; while another process builds it, its partial version if there is one."""
    try:
        return prepare_default_gallery(progress)
    except GalleryBuilding:
        if gallery_path(DEFAULT_GALLERY).exists():
            return Gallery.open(DEFAULT_GALLERY)
        raise

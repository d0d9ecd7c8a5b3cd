"""The job store: one folder per job under ``DATA_DIR/jobs``, named by a random 128-bit id.

A job folder holds the uploads (``input-N``, never the user's file name), ``meta.json`` (kind,
options, names, expiry), and what the worker writes: pictures and ``result.json`` (or
``error.json``). Folders past their expiry are deleted by a periodic sweep (a Celery beat task)
and on web requests; "delete now" removes one at once. Only ids matching ``JOB_ID`` and file
names matching ``JOB_FILE`` and the job kind's own pattern (``JobKind.files``) are ever joined
to a path, so no request can reach outside a job.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ml.files import atomic_write, write_json

JOB_ID = re.compile(r"[0-9a-f]{32}")
# A file a job may serve: a plain name (no folder, no leading dot); its kind says which ones.
JOB_FILE = re.compile(r"[a-z0-9][a-z0-9_-]{0,60}\.(jpg|png|csv)")


class JobNotFound(LookupError):
    """No such job: never existed, deleted, or expired."""


@dataclass(frozen=True)
class Job:
    id: str
    dir: Path
    meta: dict

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    def input(self, n: int = 0) -> Path:
        return self.dir / f"input-{n}"

    def file(self, name: str, allowed: str) -> Path:
        """The path of the job's file ``name`` if it matches ``allowed`` (its kind's ``files``)."""
        if not JOB_FILE.fullmatch(name) or not re.fullmatch(allowed, name):
            raise JobNotFound(name)
        return self.dir / name

    def result(self) -> dict | None:
        return _read_json(self.dir / "result.json")

    def error(self) -> dict | None:
        return _read_json(self.dir / "error.json")

    def write_result(self, result: dict) -> None:
        self._keep_from_now()
        _write_json(self.dir / "result.json", result)

    def write_error(self, message: str) -> None:
        self._keep_from_now()
        _write_json(self.dir / "error.json", {"error": message})

    def _keep_from_now(self) -> None:
        """Results live a full TTL from when they are ready: a video may wait long in its queue."""
        ttl = self.meta["expires"] - self.meta["created"]
        self.meta["expires"] = max(self.meta["expires"], time.time() + ttl)
        _write_json(self.dir / "meta.json", self.meta)

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) >= self.meta["expires"]


def jobs_root(data_dir: Path) -> Path:
    return Path(data_dir) / "jobs"


def create(data_dir: Path, kind: str, uploads: list[bytes], options: dict, ttl: int,
           owner: str | None = None) -> Job:
    """A new job folder holding ``uploads``; the metadata is written last (it marks it whole).
    A signed-in user's job names its ``owner``: nobody else may open it."""
    job_id = secrets.token_hex(16)
    folder = jobs_root(data_dir) / job_id
    folder.mkdir(parents=True)
    for n, data in enumerate(uploads):
        (folder / f"input-{n}").write_bytes(data)
    now = time.time()
    meta = {"id": job_id, "kind": kind, "created": now, "expires": now + ttl,
            "inputs": len(uploads), "options": options, "owner": owner}
    _write_json(folder / "meta.json", meta)
    return Job(job_id, folder, meta)


def open_job(data_dir: Path, job_id: str) -> Job:
    """The job ``job_id``, or ``JobNotFound`` (also for malformed ids and expired jobs)."""
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        raise JobNotFound(job_id)
    folder = jobs_root(data_dir) / job_id
    meta = _read_json(folder / "meta.json")
    if meta is None:
        raise JobNotFound(job_id)
    job = Job(job_id, folder, meta)
    if job.expired():
        delete(data_dir, job_id)
        raise JobNotFound(job_id)
    return job


def delete(data_dir: Path, job_id: str) -> bool:
    """Remove the job's folder now; False if there was none."""
    if not JOB_ID.fullmatch(job_id):
        return False
    folder = jobs_root(data_dir) / job_id
    if not folder.exists():
        return False
    # Rename first so a reader never sees half a folder, then remove.
    doomed = folder.with_name(f".deleting-{job_id}-{secrets.token_hex(4)}")
    try:
        os.rename(folder, doomed)
    except FileNotFoundError:
        return False
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def sweep(data_dir: Path, now: float | None = None, scratch: tuple[str, ...] = ()) -> int:
    """Delete every job past its expiry (and leftovers of interrupted deletes); how many. In
    the ``scratch`` folders (features' staging, ``webapp.core.pages.scratch``), anything an hour
    old: left by a killed process."""
    now = now or time.time()
    root = jobs_root(data_dir)
    removed = 0
    for folder in (f for name in scratch for f in (Path(data_dir) / name).glob("*")):
        if now - _mtime(folder, now) > 3600:
            shutil.rmtree(folder, ignore_errors=True)
    if not root.exists():
        return 0
    for folder in root.iterdir():
        if folder.name.startswith(".deleting-"):
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if not JOB_ID.fullmatch(folder.name):
            continue
        meta = _read_json(folder / "meta.json")
        if meta is None:  # a job being created, or a broken one: judge by the folder's age
            stale = now - _mtime(folder, now) > 3600
            if stale and delete(data_dir, folder.name):
                removed += 1
            continue
        if now >= meta["expires"] and delete(data_dir, folder.name):
            removed += 1
    return removed


def _mtime(folder: Path, now: float) -> float:
    """When ``folder`` last changed; ``now`` if it is gone already (deleted by "delete now",
    another sweep or its request while this sweep ran): nothing left to judge."""
    try:
        return folder.stat().st_mtime
    except OSError:
        return now


def delete_owned(data_dir: Path, owner: str) -> int:
    """Delete every job of ``owner`` now (their account is being deleted); how many."""
    removed = 0
    root = jobs_root(data_dir)
    for folder in root.iterdir() if root.exists() else ():
        meta = _read_json(folder / "meta.json")
        if meta is not None and meta.get("owner") == owner and delete(data_dir, folder.name):
            removed += 1
    return removed


def write_file(path: Path, data: bytes) -> None:
    """Write a file into a job folder atomically; ``JobNotFound`` if the job is gone."""
    try:
        atomic_write(path, data)
    except FileNotFoundError as exc:
        raise JobNotFound(path.parent.name) from exc


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def _write_json(path: Path, data: dict) -> None:
    """Write atomically: readers see the old file or the new one, never half of one."""
    write_json(path, data)

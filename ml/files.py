"""Files that many processes share: atomic writes and OS file locks, in one place.

An atomic write goes to a temporary file beside the target (same folder, so the same file
system) and is renamed over it: a reader sees the old file or the new one, never half of one, and
a crash mid-write leaves the old one. A lock is an ``flock`` on a lock file: the kernel releases
it when its holder dies, so a crash never leaves a stale lock, and holders on one machine (the
CLI, web processes, workers) exclude each other. ``flock`` on NFS is not reliable on every
server: processes on several hosts that write one folder need a lock of their own.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ml.errors import Busy


def temporary_beside(path: Path) -> Path:
    """A fresh hidden name in ``path``'s folder, unique to this writer."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to (by any writer: ``torch.save``,
    ``np.save``, ``PIL``); renamed over ``path`` when the block ends, removed if it fails."""
    path = Path(path)
    temp = temporary_beside(path)
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step."""
    with atomic_path(path) as temp:
        temp.write_bytes(data.encode() if isinstance(data, str) else data)


def write_json(path: Path, data: object, **dumps: object) -> None:
    """Replace ``path`` with ``data`` as JSON in one step."""
    atomic_write(path, json.dumps(data, **dumps))


def atomic_symlink(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` in one step (a reader follows the old link or the new)."""
    link = Path(link)
    temp = temporary_beside(link)
    os.symlink(target, temp)
    try:
        os.replace(temp, link)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


_held = threading.local()  # the lock files this thread holds: taking one again is a no-op


@contextmanager
def file_lock(path: Path, wait: float | None = None,
              busy: Busy | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block.

    ``wait`` is how long to try, in seconds: ``None`` waits as long as it takes, ``0`` tries
    once; when it runs out, ``busy`` (or a plain ``Busy``) is raised. A thread that holds the
    lock may take it again (the inner block holds nothing more); other threads and processes
    wait. The lock file may be deleted by its holder (when what it guards is deleted): a
    waiter then locks the new file at that path, never the deleted one."""
    path = Path(path)
    key = os.path.abspath(path)
    held = _held.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        handle = open(path, "a")
        try:
            if not _flock(handle, deadline):
                raise busy or Busy(f"{path}: another process holds this lock")
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
        except BaseException:
            handle.close()
            raise
        handle.close()  # locked a file its holder deleted meanwhile: lock the new one
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        handle.close()  # closing the last descriptor releases the lock


def _flock(handle, deadline: float | None) -> bool:
    if deadline is None:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return True
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def is_locked(path: Path) -> bool:
    """Whether another process (or thread) holds the lock on ``path``, probed without
    waiting; a thread asking about a lock it holds itself gets False."""
    try:
        with file_lock(path, wait=0):
            return False
    except Busy:
        return True

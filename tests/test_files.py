"""ml.files: atomic writes leave the old file or the new one; locks exclude other holders."""

from __future__ import annotations

import threading

import pytest

from ml.errors import Busy
from ml.files import atomic_path, atomic_write, file_lock, is_locked


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "meta.json"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half of the new")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["meta.json"]
    atomic_write(target, b"new")
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_a_lock_excludes_other_threads_and_survives_its_file_being_deleted(tmp_path):
    lock = tmp_path / "g.lock"
    held, release, order = threading.Event(), threading.Event(), []

    def holder():
        with file_lock(lock):
            with file_lock(lock):  # the holder may take it again
                held.set()
                release.wait(10)
                lock.unlink()  # what it guards is deleted, and its lock file with it
                order.append("holder done")

    def waiter():
        with file_lock(lock):
            order.append("waiter in")
            assert lock.exists()  # the new lock file, not the deleted one

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    assert is_locked(lock)
    with pytest.raises(Busy):
        with file_lock(lock, wait=0.2):
            pass
    second = threading.Thread(target=waiter)
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waits for the holder
    release.set()
    first.join(10)
    second.join(10)
    assert order == ["holder done", "waiter in"] and not is_locked(lock)

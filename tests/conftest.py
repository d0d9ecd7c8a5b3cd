"""Every test runs against a temporary LOOKALIKE_HOME and web directory, never the user's.

The home is made before any test module is imported (galleries, the face cache and the web
app's jobs all land there) and holds a link to the real home's ``weights`` folder, so the
weights fetched by ``lookalike setup`` are used, never downloaded again. A missing weights file
fails the tests that need it.

Tiers (``pytest -m``): ``unit`` (real models, no servers: ``make test-fast``), ``integration``
(Celery workers, Redis, the CLI as a process), ``browser`` (Chromium). Unmarked tests are unit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

_REAL_HOME = Path(os.environ.get("LOOKALIKE_HOME") or
                  Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lookalike")
_TEST_HOME = Path(tempfile.mkdtemp(prefix="lookalike-test-home-"))
(_TEST_HOME / "weights").symlink_to((_REAL_HOME / "weights").resolve(), target_is_directory=True)
os.environ["LOOKALIKE_HOME"] = str(_TEST_HOME)
os.environ["LOOKALIKE_WEB_DIR"] = str(_TEST_HOME / "web")


@pytest.fixture
def gallery_name():
    """A fresh gallery name for one test; its link and versions are removed after it."""
    from ml.paths import home

    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    root = home() / "galleries"
    (root / name).unlink(missing_ok=True)
    for version in root.glob(f".{name}.*"):
        shutil.rmtree(version, ignore_errors=True)


SERVERS = {"embedded_stack", "redis_stack", "redis_url", "server"}


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium is ``browser``; one that needs Celery workers or Redis, or
    marks itself, ``integration``; every other test is ``unit``."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if "browser" in used:
            item.add_marker(pytest.mark.browser)
        elif used & SERVERS:
            item.add_marker(pytest.mark.integration)
        if not any(item.get_closest_marker(name) for name in ("integration", "browser")):
            item.add_marker(pytest.mark.unit)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_TEST_HOME, ignore_errors=True)

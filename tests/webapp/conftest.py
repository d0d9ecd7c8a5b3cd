"""Fixtures for the web app: a small real gallery, real Celery workers, a real Redis server.

Nothing is mocked. The gallery is built from a few LFW people (seconds, not the 10-minute
``celebrities`` build) and the app is pointed at it by config; workers are ``celery worker``
subprocesses with the same ``LOOKALIKE_HOME``, so they find the same weights and gallery.
"""

from __future__ import annotations

import shutil
import threading
import uuid

import pytest
from werkzeug.serving import make_server

from ml.galleries.build import build
from ml.paths import home
from tests.support import enrol
from tests.webapp.support import ACTORS, CHROMIUM, FLAGS, PEOPLE, RedisServer, Stack
from webapp import create_app


@pytest.fixture(scope="session")
def web_gallery(tmp_path_factory) -> str:
    """A gallery of 7 people (3 of them actors), 3 photos each, for the whole session."""
    name = f"webtest-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("gallery")
    enrol(folder / "src", PEOPLE + ACTORS, photos=range(2, 5))
    actors = folder / "actors.txt"
    actors.write_text("\n".join(ACTORS) + "\n")
    build(name, [folder / "src"], actors)
    yield name
    root = home() / "galleries"
    (root / name).unlink(missing_ok=True)
    for version in root.glob(f".{name}.*"):
        shutil.rmtree(version, ignore_errors=True)


@pytest.fixture
def app(tmp_path, web_gallery):
    """An app on a fresh data directory and SQLite broker (no worker: jobs stay queued)."""
    return create_app({"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery, "QUEUE": "cpu",
                       "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory, web_gallery):
    """The embedded default (SQLite broker and results) with one real worker."""
    folder = tmp_path_factory.mktemp("embedded")
    stack = Stack(folder, web_gallery, f"sqla+sqlite:///{folder / 'broker.sqlite'}",
                  f"db+sqlite:///{folder / 'results.sqlite'}")
    stack.start_worker("embedded")
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free 127.0.0.1 port, for the session."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_stack(tmp_path, web_gallery, redis_url):
    """Redis as broker and result backend; workers are started by the test. Unacknowledged
    tasks are redelivered 5 s after their worker dies (visibility timeout)."""
    db = int(uuid.uuid4().int % 15) + 1  # a fresh database per test, so no task leaks over
    redis_db = f"{redis_url}/{db}"
    import redis

    redis.Redis.from_url(redis_db).flushdb()
    stack = Stack(tmp_path / "data", web_gallery, redis_db, redis_db,
                  extra_env={"LOOKALIKE_VISIBILITY_TIMEOUT": "5"})
    stack.data_dir.mkdir()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def server(embedded_stack):
    """The app on a real HTTP port, served by werkzeug in a thread."""
    app = embedded_stack.app()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield browser
        browser.close()

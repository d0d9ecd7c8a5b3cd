"""Helpers and constants shared by the web app's tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ml.paths import data_dir
from webapp import create_app

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"
ARTIFACTS = ROOT / "test-artifacts"
PEOPLE = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez"]
ACTORS = ["Nicole_Kidman", "Tom_Hanks", "Halle_Berry"]
PHOTO = data_dir() / "human_seg" / "images" / "12.jpg"  # two smiling people, real photo
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


PASSWORD = "correct horse battery"


def csrf_token(client) -> str:
    client.get("/login", follow_redirects=True)  # the sign-up page when there is no account
    with client.session_transaction() as session:
        return session["csrf"]


def sign_up(client, username: str = "alice", password: str = PASSWORD):
    """The client signed in as ``username``: signed up through the form (the first account
    is the admin), or signed in when the account exists already."""
    token = csrf_token(client)
    form = {"csrf_token": token, "username": username, "password": password,
            "confirm": password}
    response = client.post("/signup", data=form)
    if response.status_code != 303:  # taken (or sign-up closed): the account exists
        response = client.post("/login", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return client


def owner_id(client) -> str:
    """What the signed-in user's galleries are stored under (``ID@name``)."""
    return client.get("/api/v1/account").get_json()["owner_id"]


def browser_sign_up(page, server: str, username: str = "alice",
                    password: str = PASSWORD) -> None:
    """The page signed in as ``username`` (signed up through the form if it is new)."""
    page.goto(server + "/signup")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.fill("input[name=confirm]", password)
    page.click("button:text-is('Create the account')")
    page.wait_for_load_state()
    if "is taken" in page.content():
        page.goto(server + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("main button:text-is('Sign in')")
        page.wait_for_load_state()
    assert page.locator("#account-link").inner_text() == username


def gallery_names() -> set[str]:
    return {p.replace("_", " ") for p in PEOPLE + ACTORS}


def wait_done(client, status_url: str, timeout: float = 120) -> dict:
    """Poll the job until it is done or failed; the last status seen."""
    deadline = time.time() + timeout
    seen = set()
    while time.time() < deadline:
        status = client.get(status_url).get_json()
        seen.add(status["status"])
        if status["status"] in ("done", "failed"):
            status["seen"] = seen
            return status
        time.sleep(0.2)
    raise TimeoutError(f"job not finished in {timeout} s: {status}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """A data directory, broker settings and the worker processes serving them."""

    data_dir: Path
    gallery: str
    broker: str
    backend: str
    extra_env: dict = field(default_factory=dict)
    workers: list[subprocess.Popen] = field(default_factory=list)

    def config(self, **overrides) -> dict:
        return {"DATA_DIR": self.data_dir, "GALLERY": self.gallery, "QUEUE": "cpu",
                "BROKER_URL": self.broker, "RESULT_BACKEND": self.backend, "TESTING": True,
                **overrides}

    def app(self, **overrides):
        return create_app(self.config(**overrides))

    def start_worker(self, name: str, timeout: float = 180,
                     queues: str = "cpu,gpu") -> subprocess.Popen:
        """A ``celery worker`` subprocess (own process group); returns once it is ready."""
        log = self.data_dir / f"{name}.log"
        env = {**os.environ, "LOOKALIKE_WEB_DIR": str(self.data_dir),
               "LOOKALIKE_GALLERY": self.gallery, "LOOKALIKE_QUEUE": "cpu",
               "LOOKALIKE_BROKER_URL": self.broker, "LOOKALIKE_RESULT_BACKEND": self.backend,
               **self.extra_env}
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [str(CELERY), "-A", "webapp.worker", "worker", "-Q", queues, "-c", "1",
                 "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "info"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(process)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = log.read_text(errors="replace")
            if " ready." in text and "models loaded" in text:
                return process
            if process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{text[-3000:]}")
            time.sleep(0.3)
        raise TimeoutError(f"worker not ready in {timeout} s:\n{log.read_text()[-3000:]}")

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        """Signal the worker's whole process group (main process and pool children)."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for process in self.workers:
            self.kill(process)


class RedisServer:
    """A real redis-server on a free 127.0.0.1 port; ``persist``: an append-only file (as a
    deployment should have, so a restart keeps the queue)."""

    def __init__(self, folder: Path, persist: bool = False) -> None:
        self.port, self.folder, self.persist = free_port(), folder, persist
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        aof = ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else [
            "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.folder), "--save", "", *aof], stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

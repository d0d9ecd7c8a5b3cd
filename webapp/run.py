"""``make run``: the whole app on one machine, no servers (``python -m webapp.run``).

Starts at once: one Celery worker with the periodic jobs (beat) and one for the ``video`` queue
(screen time, and preparing the default gallery) in the background, gunicorn in the foreground
at http://127.0.0.1:$PORT (default 5000). If the default gallery is not complete, it is built on
the ``video`` worker (actors first, then everyone), with its progress on the upload page;
photos uploaded meanwhile wait for it. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def prepare_gallery() -> None:
    """Queue the default gallery's build (it returns at once when there is nothing to do).
    Sent by name, like every task from outside a worker: the launcher never loads torch."""
    from webapp import create_app

    create_app().extensions["celery"].send_task("webapp.tasks.prepare_gallery")


def main() -> int:
    # stopped by a service manager (SIGTERM) as by Ctrl-C: the workers go too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = os.environ.get("PORT", "5000")
    host = os.environ.get("HOST", "127.0.0.1")
    concurrency = os.environ.get("LOOKALIKE_WORKERS", "1")
    worker = subprocess.Popen([str(VENV_BIN / "celery"), "-A", "webapp.worker", "worker", "-B",
                               "-Q", "gpu,cpu", "--concurrency", concurrency, "--loglevel",
                               "info", "-n", "main@%h"])
    # Screen time has a queue and a worker of its own, so a long video never holds up photos.
    video = subprocess.Popen([str(VENV_BIN / "celery"), "-A", "webapp.worker", "worker",
                              "-Q", "video", "--concurrency", "1", "--loglevel", "info",
                              "-n", "video@%h"])
    web = None
    try:
        prepare_gallery()
        print(f"Lookalike: http://{host}:{port}  (Ctrl-C stops the web server and the workers)")
        web = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--bind", f"{host}:{port}",
                                "--workers", "2", "--threads", "4", "webapp:create_app()"])
        return web.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (web, worker, video):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (web, worker, video):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    sys.exit(main())

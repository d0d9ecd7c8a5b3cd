"""``make run``: the whole app on one machine, no servers (``python -m webapp.run``).

Builds the default gallery on first use (a progress bar; tens of minutes on 2 CPU cores),
starts one Celery worker with the periodic sweep (beat) and one for the ``video`` queue
(screen time) in the background and gunicorn in the foreground at http://127.0.0.1:$PORT
(default 5000); Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def ensure_gallery(name: str) -> None:
    from ml.galleries.store import DEFAULT_GALLERY, Gallery, GalleryNotFound

    if name == DEFAULT_GALLERY:
        from ml.galleries.build import ensure_default_gallery
        from ml.progress import TqdmProgress

        print(f"Opening the '{name}' gallery (built on first run, with a progress bar)...")
        progress = TqdmProgress()
        ensure_default_gallery(progress)
        progress.close()
        return
    try:
        Gallery.open(name)
    except GalleryNotFound as exc:
        sys.exit(f"lookalike: {exc}")


def main() -> int:
    # stopped by a service manager (SIGTERM) as by Ctrl-C: the workers go too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ensure_gallery(os.environ.get("LOOKALIKE_GALLERY", "celebrities"))
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
        print(f"Lookalike: http://{host}:{port}  (Ctrl-C stops the web server and the worker)")
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

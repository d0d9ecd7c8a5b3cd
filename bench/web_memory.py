"""Memory of one web (gunicorn) worker: idle, and at its peak under concurrent large uploads.

    .venv/bin/python -m bench.web_memory [--uploads 8] [--megabytes 17] [--code DIR]

Starts ``gunicorn --workers 1 --threads N 'webapp:create_app()'`` as the README runs it (the
embedded SQLite broker, no Celery worker: uploads are checked, stored and queued, which is all
the web process does), waits for it to serve the upload page, reads the worker's resident memory
(VmRSS), posts ``--uploads`` JPEGs of about ``--megabytes`` MB each at once, and reads VmRSS and
its peak (VmHWM) again. ``--code DIR`` runs the app from another checkout (say, an older
commit's ``git archive``) with this interpreter, to compare before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from bench.report import machine
from tests.webapp.support import free_port

ROOT = Path(__file__).resolve().parent.parent


def big_jpeg(megabytes: float) -> bytes:
    """A noisy JPEG of about ``megabytes`` MB (noise compresses badly, like a sharp photo)."""
    side = int((megabytes * 1e6 / 0.9) ** 0.5)  # ~0.9 bytes per pixel at quality 90 for noise
    pixels = np.random.default_rng(0).integers(0, 256, (side * 2 // 3, side * 3 // 2, 3), np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def post(url: str, data: bytes, codes: list[int]) -> None:
    boundary = "----lookalike-bench"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            codes.append(response.status)
    except urllib.error.HTTPError as exc:
        codes.append(exc.code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--megabytes", type=float, default=17.0)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to run")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as web_dir:
        env = {**os.environ, "PYTHONPATH": str(args.code.resolve()), "LOOKALIKE_WEB_DIR": web_dir,
               "LOOKALIKE_UPLOAD_LIMIT": "1000 per minute"}
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--threads",
             str(args.uploads), "--bind", f"127.0.0.1:{port}", "--timeout", "300",
             "webapp:create_app()"], env=env, cwd=args.code, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(url + "/", timeout=5).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.5)
            for _ in range(5):  # a few pages: what an idle worker has after its first requests
                urllib.request.urlopen(url + "/").read()
            (worker,) = children(server.pid)
            idle = status(worker)
            data = big_jpeg(args.megabytes)
            codes: list[int] = []
            threads = [threading.Thread(target=post, args=(url + "/api/v1/analyze", data, codes))
                       for _ in range(args.uploads)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - start
            after = status(worker)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"code: {args.code.resolve()}  machine: {machine()}")
    print(f"web worker idle: VmRSS {idle['VmRSS']} MB")
    print(f"{args.uploads} uploads of {len(data) / 1e6:.1f} MB at once: answers {sorted(codes)} "
          f"in {seconds:.1f} s; VmRSS after {after['VmRSS']} MB, peak (VmHWM) {after['VmHWM']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

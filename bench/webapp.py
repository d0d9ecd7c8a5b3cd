"""The web app under load: one selfie's latency through the API, and a burst of uploads.

    .venv/bin/python -m bench.webapp [--broker redis|sqlite] [--n 20] [--burst 200] [--big 20]

Real workers (``celery worker`` subprocesses), a real broker (a redis-server started here, or
the embedded SQLite default) and the real models. A selfie is a human_seg photo scaled to
1024 px on its long side; "latency" is upload (POST /api/v1/analyze) to the first poll that
sees the job done: detect, embed, emotion, top-10 lookalikes, portrait at 1024 px, share cards
and the queue's own overhead. The burst posts ``--burst`` uploads at once to 2 workers (1 torch
thread each) and waits for all, then reports each worker process's peak memory (VmHWM: it
loads every model once). ``--big`` uploads just under the size limit (20 MB JPEGs of 25
megapixels) are posted at once from as many threads, plus as many over the limit: the
over-limit ones must be 413s, the others must complete, and no process may die. The gallery is
a small one built here (a few LFW people): search in the 20,000-photo gallery is an Annoy
lookup of about a millisecond
(``make bench-index``), so it changes these numbers little. Results: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from bench.report import machine, write_section
from ml.galleries.build import build
from ml.paths import data_dir, home
from tests.test_gallery import enrol
from tests.webapp.support import Stack, free_port

ROOT = Path(__file__).resolve().parent.parent

PEOPLE = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez", "Nicole_Kidman",
          "Tom_Hanks", "Halle_Berry", "Jennifer_Aniston", "Ben_Affleck", "Tom_Cruise"]


def selfie(n: int) -> bytes:
    photo = Image.open(data_dir() / "human_seg" / "images" / f"{n}.jpg").convert("RGB")
    scale = 1024 / max(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)),
                         Image.Resampling.LANCZOS)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92)
    return out.getvalue()


def submit(client, data: bytes) -> tuple[str, float]:
    start = time.perf_counter()
    response = client.post("/api/v1/analyze",
                           data={"image": (io.BytesIO(data), "me.jpg"), "k": "10"})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["status_url"], start


TIMINGS: list[dict[str, float]] = []  # the worker's seconds per stage, every job


def wait(client, pending: dict[str, float], timeout: float = 1800) -> dict[str, float]:
    """Poll every pending job; its latency (s) as soon as it is done."""
    done: dict[str, float] = {}
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        for url, start in list(pending.items()):
            status = client.get(url).get_json()
            if status["status"] == "done":
                done[url] = time.perf_counter() - start
                del pending[url]
                TIMINGS.append(status["result"]["timings"])
            elif status["status"] == "failed":
                raise RuntimeError(f"{url}: {status}")
        time.sleep(0.01)
    if pending:
        raise TimeoutError(f"{len(pending)} jobs never finished")
    return done


def peak_memory(pid: int) -> float:
    """A process's peak resident memory (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def family_tree(pid: int) -> list[int]:
    """The process and its children (a Celery worker and its pool process)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            out += family_tree(int(child))
    return out


def big_photo(megabytes: float = 19.5) -> bytes:
    """A JPEG of 5000 x 5000 px, just under ``megabytes``: a face on film grain."""
    rng = np.random.default_rng(0)
    face = Image.open(data_dir() / "lfw" / "Tony_Blair" / "Tony_Blair_0001.jpg").convert("RGB")
    base = np.asarray(face.resize((5000, 5000), Image.Resampling.BILINEAR), np.int16)
    for quality in (98, 96, 94, 92, 90, 85, 80):
        grain = rng.integers(-24, 25, base.shape, np.int16)
        out = io.BytesIO()
        Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(
            out, "JPEG", quality=quality)
        if out.tell() <= megabytes * 1024 * 1024:
            return out.getvalue()
    raise RuntimeError("could not make a big enough JPEG under the limit")


def percentiles(values: list[float]) -> str:
    p50, p95 = np.percentile(values, [50, 95])
    return f"p50 **{p50:.2f} s**, p95 **{p95:.2f} s**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=["redis", "sqlite"], default="redis")
    parser.add_argument("--n", type=int, default=20, help="sequential selfies")
    parser.add_argument("--burst", type=int, default=200, help="concurrent uploads")
    parser.add_argument("--big", type=int, default=20,
                        help="concurrent uploads at the size limit (and as many over it)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-webapp-"))
    gallery = f"bench-{uuid.uuid4().hex[:8]}"
    redis = None
    try:
        enrol(folder / "src", PEOPLE, photos=range(1, 5))
        build(gallery, [folder / "src"])
        if args.broker == "redis":
            port = free_port()
            redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                      "--appendonly", "no", "--bind", "127.0.0.1"],
                                     stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            broker = backend = f"redis://127.0.0.1:{port}/0"
        else:
            broker = f"sqla+sqlite:///{folder / 'broker.sqlite'}"
            backend = f"db+sqlite:///{folder / 'results.sqlite'}"
        stack = Stack(folder, gallery, broker, backend)
        client = stack.app(UPLOAD_LIMIT="100000 per minute").test_client()
        photos = [selfie(n) for n in (12, 3, 100, 27, 51)]

        worker = stack.start_worker("single")  # one worker process, 2 torch threads
        wait(client, dict([submit(client, photos[0])]))  # warm-up
        single = []
        TIMINGS.clear()
        for i in range(args.n):
            single += wait(client, dict([submit(client, photos[i % len(photos)])])).values()
        stages = {k: np.median([t[k] for t in TIMINGS]) for k in TIMINGS[0]}
        stack.kill(worker)

        stack.extra_env = {"OMP_NUM_THREADS": "1"}
        for name in ("burst-a", "burst-b"):
            stack.start_worker(name)
        wait(client, dict([submit(client, photos[0])]))
        start = time.perf_counter()
        pending = dict(submit(client, photos[i % len(photos)]) for i in range(args.burst))
        burst = list(wait(client, pending).values())
        elapsed = time.perf_counter() - start
        peaks = {name: max(peak_memory(pid) for pid in family_tree(worker.pid))
                 for name, worker in zip(("burst-a", "burst-b"), stack.workers[-2:],
                                         strict=True)}

        big = big_photo()
        over = big + bytes(6 * 1024 * 1024)  # 25.5 MB: over the 20 MB limit
        answers: list[int] = []
        big_pending: dict[str, float] = {}
        lock = threading.Lock()

        def post(data: bytes) -> None:
            started = time.perf_counter()
            response = client.post("/api/v1/analyze",
                                   data={"image": (io.BytesIO(data), "big.jpg")})
            with lock:
                answers.append(response.status_code)
                if response.status_code == 202:
                    big_pending[response.get_json()["status_url"]] = started

        before_web = peak_memory(os.getpid())
        threads = [threading.Thread(target=post, args=(data,))
                   for data in [big] * args.big + [over] * args.big]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        big_done = list(wait(client, big_pending).values())
        web_peak = peak_memory(os.getpid())
        alive = all(w.poll() is None for w in stack.workers[-2:])
        big_peaks = {name: max(peak_memory(pid) for pid in family_tree(worker.pid))
                     for name, worker in zip(("burst-a", "burst-b"), stack.workers[-2:],
                                             strict=True)}
        stack.stop()
    finally:
        if redis is not None:
            redis.terminate()
        root = home() / "galleries"
        (root / gallery).unlink(missing_ok=True)
        for version in root.glob(f".{gallery}.*"):
            shutil.rmtree(version, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)

    broker_name = "Redis" if args.broker == "redis" else "embedded SQLite"
    text = "\n".join([
        "## Web app: one selfie through the API, and a burst of uploads",
        "",
        f"`.venv/bin/python -m bench.webapp --broker {args.broker}` on {machine()}; "
        f"{broker_name} broker and result backend, real `celery worker` processes. A selfie = a "
        "human_seg photo scaled to 1024 px; latency = POST /api/v1/analyze until a poll sees "
        "the job done (detect, embed, emotion, top-10 lookalikes, portrait mode at 1024 px, "
        "share cards, queueing).",
        "",
        f"- One worker process (2 torch threads), {args.n} selfies one after another: "
        f"{percentiles(single)}. Median seconds per stage inside the worker: "
        + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        + f" (total {sum(stages.values()):.2f} s; the rest is queue, polling and upload).",
        f"- {args.burst} uploads at once, 2 worker processes (1 torch thread each): all "
        f"{len(burst)} done, none lost, in {elapsed:.1f} s = **{len(burst) / elapsed:.2f} "
        f"selfies/s**; latency {percentiles(burst)} (mostly waiting in the queue).",
        "- Peak memory (VmHWM) per worker process after the burst, every model loaded once: "
        + ", ".join(f"{name} **{mb:.0f} MB**" for name, mb in peaks.items()) + ".",
        f"- At the size limit, at once: {args.big} uploads of {len(big) / 2**20:.1f} MB "
        f"(5000 x 5000 px JPEGs) and {args.big} of {len(over) / 2**20:.1f} MB: answers "
        + ", ".join(f"{code}: {answers.count(code)}" for code in sorted(set(answers)))
        + f"; all {len(big_done)} accepted ones done (latency {percentiles(big_done)}); "
        f"workers alive: {'yes' if alive else 'NO'}; peak memory then: "
        + ", ".join(f"{name} {mb:.0f} MB" for name, mb in big_peaks.items())
        + f"; the web process (this benchmark, Flask in-process) {before_web:.0f} -> "
        f"{web_peak:.0f} MB.",
    ])
    write_section("webapp", text)
    print(text)


if __name__ == "__main__":
    main()

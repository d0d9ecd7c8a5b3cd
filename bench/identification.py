"""Identification: rank-1 / rank-5 of lookalike search, and gallery build throughput.

    make bench-identification     # = .venv/bin/python -m bench.identification

- LFW: every person with >= 2 photos gives one probe (their first photo); the gallery holds all
  other LFW photos, so all 5,749 identities are candidates (singletons are distractors).
- CFP: each of the 500 people's first frontal photo is the probe; the other 8 are the gallery.
- Identity score: max similarity over the identity's photos vs mean of its top-2 / top-3.
- Build throughput: photos/s of detect + align + embed on photos never seen (empty cache),
  batched as `lookalike gallery build` does, on 2 CPU threads, smallest face 20 and 40 px.
Searches go through the real gallery code (Annoy index, ``Gallery.lookalikes``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.report import machine, write_section
from ml.faces.detection import MIN_FACE
from ml.faces.embedding import Embeddings
from ml.faces.pipeline import find_faces
from ml.galleries.build import GALLERY_MIN_FACE, collect, scan_sources
from ml.galleries.store import Gallery, GalleryData
from ml.galleries.write import write_version
from ml.paths import data_dir, home
from ml.progress import TqdmProgress


def split(data: GalleryData) -> tuple[np.ndarray, np.ndarray]:
    """Probe rows (first photo of every identity with >= 2) and gallery rows (the rest)."""
    first: dict[int, int] = {}
    counts = np.bincount(data.identity, minlength=len(data.identities))
    for row, ident in enumerate(data.identity):
        if counts[ident] >= 2 and ident not in first:
            first[int(ident)] = row
    probes = np.array(sorted(first.values()))
    rest = np.setdiff1d(np.arange(len(data.identity)), probes)
    return probes, rest


def subset(data: GalleryData, rows: np.ndarray) -> GalleryData:
    return GalleryData(data.embedder, data.identities, data.vectors[rows], data.identity[rows],
                       [data.source[r] for r in rows], data.quality[rows], data.box[rows], {})


def evaluate(name: str, data: GalleryData, top_ms: list[int]) -> dict[int, tuple[float, float]]:
    probes, rest = split(data)
    write_version(name, subset(data, rest), {}, {})
    gallery = Gallery.open(name)
    out = {}
    for m in top_ms:
        hits1 = hits5 = 0
        for row in probes:
            query = Embeddings(data.vectors[row : row + 1], data.embedder)
            found = [x.key for x in gallery.nearest_people(query, k=5, top_m=m)[0]]
            truth = data.identities[data.identity[row]].key
            hits1 += found[:1] == [truth]
            hits5 += truth in found
        out[m] = (hits1 / len(probes), hits5 / len(probes))
        print(f"{name}: top-{m} aggregation rank-1 {out[m][0]:.4f} rank-5 {out[m][1]:.4f} "
              f"({len(probes)} probes, {len(rest)} gallery faces)", flush=True)
    shutil.rmtree(gallery.version, ignore_errors=True)
    (home() / "galleries" / name).unlink()
    return out


def build_throughput(folder: str, n: int, min_face: int) -> tuple[float, int]:
    """Photos/s and photos with a face, on ``n`` photos (spread over the set) the cache has never
    seen: a throwaway LOOKALIKE_HOME."""
    photos, _ = scan_sources([data_dir() / folder])
    photos = photos[:: max(1, len(photos) // n)][:n]
    real_home = home()
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(real_home / "weights", Path(tmp) / "weights")
        os.environ["LOOKALIKE_HOME"] = tmp
        try:
            find_faces(photos[:8], min_face=min_face)  # load models
            start = time.perf_counter()
            found = find_faces(photos[8:], min_face=min_face)
            rate = (len(photos) - 8) / (time.perf_counter() - start)
        finally:
            os.environ["LOOKALIKE_HOME"] = str(real_home)
    with_face = sum(1 for f in found if not isinstance(f, str) and f.faces)
    print(f"build throughput {folder} min_face {min_face}: {rate:.1f} photos/s, "
          f"{with_face}/{len(found)} with a face", flush=True)
    return rate, with_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--throughput-images", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for label, folder in (("LFW", "lfw"), ("CFP", "cfp")):
        photos, _ = scan_sources([data_dir() / folder])
        data, _ = collect(photos, set(), None, TqdmProgress())
        results[label] = evaluate(f"bench-{folder}", data, [1, 2, 3])
    rates = {(folder, min_face): build_throughput(folder, args.throughput_images, min_face)
             for folder in ("lfw", "cfp", "bollywood") for min_face in (MIN_FACE, GALLERY_MIN_FACE)}
    lines = [
        "## Identification (lookalike search) and gallery build throughput",
        "",
        f"`make bench-identification` (`.venv/bin/python -m bench.identification`) on "
        f"{machine()}. Probe = each person's first photo; gallery = all other photos "
        "(LFW: all 5,749 identities, singletons as distractors; CFP: 500 people x 8). "
        "Search through the real Annoy gallery; identity score = mean distance of its "
        "top-m photos (m = 1 is the max similarity).",
        "",
        "| set | aggregation | rank-1 | rank-5 |",
        "|---|---|---|---|",
    ]
    for label, by_m in results.items():
        for m, (r1, r5) in by_m.items():
            what = "max (top-1 photo)" if m == 1 else f"mean of top-{m} photos"
            lines.append(f"| {label} | {what} | {100 * r1:.2f}% | {100 * r5:.2f}% |")
    n = args.throughput_images - 8
    lines += ["", f"Gallery build throughput: detect + align + embed of {n} uncached photos "
              f"spread over each set, batches of 64, {args.threads} threads; the smallest face "
              f"looked for: {MIN_FACE} px (the default, before) and {GALLERY_MIN_FACE} px (what "
              "gallery builds use, after). The rank figures above are with "
              f"{GALLERY_MIN_FACE} px.", "",
              "| set | smallest face | photos/s | photos with a face |", "|---|---|---|---|"]
    lines += [f"| {folder} | {min_face} px | {rate:.1f} | {found} of {n} |"
              for (folder, min_face), (rate, found) in rates.items()]
    write_section("identification", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Annoy vs exact search: recall@10, latency, build time and file size.

    make bench-index      # = .venv/bin/python -m bench.index

Synthetic clustered unit vectors (128-d, clusters of 5 like identities with several photos,
spread like real face embeddings) at 10k, 100k and 1M, plus the real ``celebrities`` gallery
if it is built. Exact search is torch matmul + topk. Queries are held out of the index.
Latency is one query at a time on one thread, as a web request would ask.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.report import machine, write_section

K = 10


def clustered(n: int, dim: int = 128, per_cluster: int = 5, seed: int = 0) -> np.ndarray:
    """Unit vectors in clusters; within-cluster distances ~0.35, between ~1.4 (like faces)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // per_cluster + 1, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[np.arange(n) // per_cluster] + rng.standard_normal((n, dim)).astype(
        np.float32) * (0.25 / np.sqrt(dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_topk(index: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, float]:
    base = torch.from_numpy(index)
    q = torch.from_numpy(queries)
    base @ q[:1].T  # warm up
    start = time.perf_counter()
    for i in range(len(q)):
        torch.topk(base @ q[i], K)
    per_query = (time.perf_counter() - start) / len(q)
    ids = torch.cat([torch.topk(base @ q[i : i + 256].T, K, dim=0).indices.T
                     for i in range(0, len(q), 256)])
    return ids.numpy(), per_query


def annoy_rows(index: np.ndarray, queries: np.ndarray, truth: np.ndarray, trees: list[int],
               search_ks: list[int], label: str) -> list[str]:
    from annoy import AnnoyIndex

    rows = []
    for n_trees in trees:
        ann = AnnoyIndex(index.shape[1], "angular")
        for i, v in enumerate(index):
            ann.add_item(i, v)
        start = time.perf_counter()
        ann.build(n_trees, n_jobs=-1)
        build_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "index.ann"
            ann.save(str(path))
            size_mb = path.stat().st_size / 1e6
            ann.unload()
            ann.load(str(path))
            for search_k in search_ks:
                start = time.perf_counter()
                found = [ann.get_nns_by_vector(q.tolist(), K, search_k=search_k) for q in queries]
                per_query = (time.perf_counter() - start) / len(queries)
                recall = np.mean([len(set(f) & set(t)) / K
                                  for f, t in zip(found, truth, strict=True)])
                rows.append(f"| {label} | Annoy {n_trees} trees, search_k {search_k} "
                            f"| {recall:.4f} | {1000 * per_query:.3f} | {build_s:.1f} "
                            f"| {size_mb:.0f} |")
                print(rows[-1], flush=True)
            ann.unload()
    return rows


def real_gallery() -> np.ndarray | None:
    from ml.galleries.store import Gallery, GalleryNotFound

    try:
        return np.asarray(Gallery.open("celebrities").vectors, np.float32)
    except GalleryNotFound:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    sets = [(f"synthetic {n:,}", clustered(n + args.queries)) for n in args.sizes]
    gallery = real_gallery()
    if gallery is not None:
        rng = np.random.default_rng(1)
        sets.insert(0, (f"celebrities gallery {len(gallery) - args.queries:,}",
                        gallery[rng.permutation(len(gallery))]))
    for label, data in sets:
        queries, index = data[: args.queries], np.ascontiguousarray(data[args.queries :])
        truth, exact_s = exact_topk(index, queries)
        rows.append(f"| {label} | exact (torch matmul + topk) | 1.0000 | {1000 * exact_s:.3f} "
                    f"| 0 | {index.nbytes / 1e6:.0f} |")
        print(rows[-1], flush=True)
        n = len(index)
        trees = [16, 32] if n <= 100_000 else [32, 64]
        search_ks = [2_000, 10_000, 20_000] if n <= 100_000 else [10_000, 20_000, 50_000]
        rows += annoy_rows(index, queries, truth, trees, search_ks, label)
    lines = [
        "## Lookalike index: Annoy vs exact search",
        "",
        f"`make bench-index` (`.venv/bin/python -m bench.index`) on {machine()}; one query at a "
        f"time, 1 thread, {args.queries} held-out queries, recall of the exact top-{K}.",
        "",
        "| vectors | method | recall@10 | ms / query | build s | size MB |",
        "|---|---|---|---|---|---|",
        *rows,        "",
        "Reading it: in the synthetic sets each query's 5 cluster-mates are near and its ranks "
        "6-10 are members of other clusters at almost equal distances (random directions in "
        "128-d), which no tree index finds reliably, so recall@10 there is a worst case; real "
        "face embeddings are far more structured (the celebrities row). At the default "
        "gallery's size exact search is not slower than Annoy; Annoy is kept because its index "
        "is memory-mapped and shared by every worker process, and its cost grows more slowly "
        "with the gallery than exact search's.",
    ]
    write_section("index", "\n".join(lines))


if __name__ == "__main__":
    main()

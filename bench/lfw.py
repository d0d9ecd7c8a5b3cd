"""Calibrate distances on LFW View-2: the same-person threshold, P(same) and the similarity %.

    make bench-lfw            # = .venv/bin/python -m bench.lfw --write-calibration

Uses the LFW embeddings of ``bench/faces.py`` (cached; computed if missing), which also holds
the 10-fold comparison with face_recognition. For each of the 10 folds the threshold is chosen
on the other 9 and accuracy is measured on it; a pair whose photo has no face counts as wrong.
``--write-calibration`` refits ``ml/faces/calibration.json`` from all 6,000 pairs; the table of what
distances mean goes to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import ml
from bench.report import machine, write_section
from ml.faces.verify import (
    CALIBRATION_FILE,
    accuracy_at,
    best_threshold,
    fit_logistic,
    quantiles,
    roc_auc,
)

ROOT = Path(__file__).resolve().parent.parent


def read_pairs(lfw: Path) -> tuple[list[tuple[Path, Path]], np.ndarray, np.ndarray]:
    """pairs.txt → (pairs, same flags, fold index)."""
    lines = (lfw / "pairs.txt").read_text().splitlines()
    folds, per = (int(v) for v in lines[0].split())

    def photo(name: str, n: str) -> Path:
        return lfw / name / f"{name}_{int(n):04d}.jpg"

    pairs, same, fold = [], [], []
    for i, line in enumerate(lines[1:]):
        parts = line.split("\t")
        if len(parts) == 3:
            pairs.append((photo(parts[0], parts[1]), photo(parts[0], parts[2])))
            same.append(True)
        else:
            pairs.append((photo(parts[0], parts[1]), photo(parts[2], parts[3])))
            same.append(False)
        fold.append(i // (2 * per))
    assert max(fold) == folds - 1
    return pairs, np.array(same), np.array(fold)


def evaluate(vectors: dict, pairs: list[tuple], same: np.ndarray, fold: np.ndarray) -> dict:
    dist = np.array([
        np.linalg.norm(vectors[a] - vectors[b]) if a in vectors and b in vectors else np.inf
        for a, b in pairs
    ])
    missing = ~np.isfinite(dist)
    accs = []
    for k in range(fold.max() + 1):
        train, test = (fold != k) & ~missing, fold == k
        threshold = best_threshold(dist[train], same[train])
        accs.append(accuracy_at(dist[test], same[test], threshold))  # inf → "different"
    finite = np.where(missing, 4.0, dist)  # a missing face ranks as maximally different
    ok = ~missing
    return {
        "accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
        "auc": roc_auc(finite, same), "pairs_missing_face": int(missing.sum()),
        "threshold_all": best_threshold(dist[ok], same[ok]),
        "logistic": fit_logistic(dist[ok], same[ok]), "dist": dist,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write-calibration", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from bench.faces import embeddings, load_set, pairs_for

    embedder = ml.get_embedder("dlib").name
    photos = load_set("lfw")
    vectors, _ = embeddings("ours", photos)
    index, same, fold = pairs_for(photos)
    print(f"LFW View-2: {len(index)} pairs, {fold.max() + 1} folds")
    ours = evaluate({i: v for i, v in enumerate(vectors) if np.isfinite(v[0])},
                    [tuple(pair) for pair in index], same, fold)
    print(f"accuracy {ours['accuracy_mean']:.4f} ± {ours['accuracy_std']:.4f}, "
          f"auc {ours['auc']:.4f}, missing {ours['pairs_missing_face']}")
    a, b = ours["logistic"]
    dist = ours["dist"]
    current = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else {}
    current[embedder] = {
        "threshold": round(ours["threshold_all"], 4),
        "logistic": [round(a, 4), round(b, 4)],
        "genuine_quantiles": quantiles(dist[same & np.isfinite(dist)]),
        "impostor_quantiles": quantiles(dist[~same & np.isfinite(dist)]),
        "fitted_on": "LFW View-2 pairs.txt, all 6000 pairs (bench/lfw.py)",
        "lfw_10fold_accuracy": round(ours["accuracy_mean"], 4),
    }
    if args.write_calibration:
        CALIBRATION_FILE.write_text(json.dumps(current, indent=2) + "\n")
        print(f"wrote {CALIBRATION_FILE}")
        ml.faces.verify.calibrations.cache_clear()
    cal = current[embedder]
    lines = [
        "## Calibration: distance, same person, similarity %",
        "",
        f"`make bench-lfw` (`.venv/bin/python -m bench.lfw --write-calibration`) on {machine()}"
        f", from the LFW embeddings of `make bench-faces`. LFW View-2 10-fold accuracy "
        f"{100 * ours['accuracy_mean']:.2f}% ± {100 * ours['accuracy_std']:.2f}, AUC "
        f"{ours['auc']:.4f}. On all 6,000 pairs: same person when distance < "
        f"{cal['threshold']:.4f}; P(same) = 1 / (1 + exp(-({a:.3f} {b:+.3f} x distance))); "
        f"median genuine distance {np.median(dist[same & np.isfinite(dist)]):.3f}, median "
        f"impostor distance {np.median(dist[~same & np.isfinite(dist)]):.3f} "
        "(`docs/calibration.md`).",
        "",
        "| distance | similarity | P(same person) |",
        "|---|---|---|",
    ]
    ml.faces.verify.calibrations.cache_clear()
    for d in (0.20, 0.30, 0.35, 0.40, cal["threshold"], 0.45, 0.50, 0.55, 0.60, 0.70):
        sim = 50.0 * (_share(d, cal["genuine_quantiles"]) + _share(d, cal["impostor_quantiles"]))
        prob = 1.0 / (1.0 + np.exp(-(a + b * d)))
        lines.append(f"| {d:.4g} | {sim:.1f}% | {prob:.4f} |")
    write_section(f"lfw-{embedder}", "\n".join(lines))


def _share(d: float, quantiles: list[float]) -> float:
    return 1.0 - float(np.interp(d, quantiles, np.linspace(0.0, 1.0, len(quantiles)),
                                 left=0.0, right=1.0))


if __name__ == "__main__":
    main()

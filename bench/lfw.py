"""LFW View-2 10-fold verification: Lookalike's pipeline beside face_recognition/dlib's own.

    make bench-lfw            # = .venv/bin/python bench/lfw.py --write-calibration

For each of the 10 folds the threshold is chosen on the other 9 and accuracy is measured on it;
we report mean ± std over folds and AUC over all 6,000 pairs. A pair whose photo has no face
detected counts as wrong. Beside it: per-image time (detect + align + embed, one image at a time)
and batched embedding throughput, on 2 CPU threads. Results go to docs/benchmarks.md;
``--write-calibration`` also refits ``ml/calibration.json`` (threshold + logistic similarity).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import ml  # noqa: E402
from bench.report import machine, write_section  # noqa: E402
from ml.paths import data_dir, home  # noqa: E402
from ml.verify import (  # noqa: E402
    CALIBRATION_FILE,
    accuracy_at,
    best_threshold,
    fit_logistic,
    quantiles,
    roc_auc,
)


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


def embed_lookalike(paths: list[Path], embedder: str) -> dict[Path, np.ndarray]:
    """Our pipeline: MTCNN (batched) → the face nearest the centre → align → embed."""
    out: dict[Path, np.ndarray] = {}
    batch = 32
    for start in tqdm(range(0, len(paths), batch), desc=f"lookalike/{embedder}", unit="batch"):
        chunk = paths[start : start + batch]
        images = [ml.load_image(p) for p in chunk]
        for path, image, faces in zip(chunk, images, ml.detect_batch(images), strict=True):
            face = ml.main_face(faces, image.shape[1], image.shape[0])
            if face is not None:
                out[path] = ml.embed(image, [face], embedder).vectors[0]
    return out


def embed_dlib(paths: list[Path]) -> dict[Path, np.ndarray]:
    """face_recognition's pipeline: HOG detector (1 upsample) → 5-point shape → dlib encoder."""
    import face_recognition

    out: dict[Path, np.ndarray] = {}
    for path in tqdm(paths, desc="face_recognition/dlib", unit="img"):
        image = face_recognition.load_image_file(path)
        boxes = face_recognition.face_locations(image, model="hog")
        if not boxes:
            continue
        h, w = image.shape[:2]
        top, right, bottom, left = max(
            boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0])
            * (1 - np.hypot((b[1] + b[3]) / 2 - w / 2, (b[0] + b[2]) / 2 - h / 2) / max(h, w)) ** 4
        )
        vec = face_recognition.face_encodings(image, [(top, right, bottom, left)], model="small")[0]
        out[path] = vec / np.linalg.norm(vec)
    return out


def cached(name: str, paths: list[Path], compute) -> dict[Path, np.ndarray]:
    cache = home() / "bench" / f"lfw_{name}.npz"
    if cache.exists():
        data = np.load(cache)
        return {Path(p): v for p, v in zip(data["paths"], data["vectors"], strict=True)}
    result = compute(paths)
    cache.parent.mkdir(exist_ok=True)
    keys = list(result)
    np.savez(cache, paths=np.array([str(k) for k in keys]),
             vectors=np.stack([result[k] for k in keys]))
    return result


def evaluate(vectors: dict[Path, np.ndarray], pairs, same, fold) -> dict:
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


def time_per_image(paths: list[Path], embedder: str | None, n: int) -> float:
    """Seconds per image for detect + align + embed, one image at a time (models warm)."""
    sample = paths[:n]
    if embedder is None:
        import face_recognition

        def one(p):
            image = face_recognition.load_image_file(p)
            boxes = face_recognition.face_locations(image, model="hog")
            face_recognition.face_encodings(image, boxes[:1], model="small")
    else:
        def one(p):
            image = ml.load_image(p)
            faces = ml.detect(image)
            ml.embed(image, faces[:1], embedder)
    one(sample[0])
    start = time.perf_counter()
    for p in sample:
        one(p)
    return (time.perf_counter() - start) / len(sample)


def embed_throughput(embedder: str, n: int = 256) -> float:
    model = ml.get_embedder(embedder)
    size = 150 if embedder == "dlib" else 160
    chips = np.random.default_rng(0).integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    model.embed_chips(chips[:8])
    start = time.perf_counter()
    model.embed_chips(chips)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="dlib")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-dlib", action="store_true", help="skip face_recognition's pipeline")
    parser.add_argument("--timing-images", type=int, default=100)
    parser.add_argument("--write-calibration", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    lfw = data_dir() / "lfw"
    pairs, same, fold = read_pairs(lfw)
    paths = sorted({p for pair in pairs for p in pair})
    print(f"LFW View-2: {len(pairs)} pairs, {len(paths)} images, {fold.max() + 1} folds")

    rows = []
    ours = evaluate(cached(args.embedder, paths, lambda ps: embed_lookalike(ps, args.embedder)),
                    pairs, same, fold)
    rows.append((f"Lookalike: MTCNN + 5-point alignment + {args.embedder}", ours,
                 time_per_image(paths, args.embedder, args.timing_images),
                 embed_throughput(args.embedder)))
    if not args.skip_dlib:
        theirs = evaluate(cached("face_recognition", paths, embed_dlib), pairs, same, fold)
        rows.append(("face_recognition 1.3.0 / dlib 20.0.1: HOG + 5-point + dlib ResNet", theirs,
                     time_per_image(paths, None, args.timing_images), None))

    lines = [
        "## Face verification: LFW View-2, 10-fold",
        "",
        f"`make bench-lfw` (`.venv/bin/python bench/lfw.py`) on {machine()}. "
        "Threshold chosen on 9 folds, accuracy on the 10th; mean ± std over the 10 folds. "
        "A pair with a photo where no face was found counts as wrong. Per-image time = load + "
        f"detect + align + embed, one image at a time, mean over {args.timing_images} LFW photos.",
        "",
        "| pipeline | accuracy | AUC | pairs with no face | s / image | batched embed (chips/s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r, per_image, rate in rows:
        lines.append(
            f"| {name} | {100 * r['accuracy_mean']:.2f}% ± {100 * r['accuracy_std']:.2f} "
            f"| {r['auc']:.4f} | {r['pairs_missing_face']} | {per_image:.3f} "
            f"| {'' if rate is None else f'{rate:.1f}'} |"
        )
        print(f"{name}: accuracy {r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}, "
              f"auc {r['auc']:.4f}, missing {r['pairs_missing_face']}, {per_image:.3f} s/img"
              + ("" if rate is None else f", {rate:.1f} chips/s"))
    a, b = ours["logistic"]
    lines += [
        "",
        f"Calibration ({args.embedder}, all 6,000 pairs; `ml/calibration.json`): same person "
        f"when distance < {ours['threshold_all']:.4f}; P(same) = 1 / (1 + exp(-({a:.3f} "
        f"{b:+.3f} x distance))); similarity % from the genuine/impostor distance quantiles "
        "(docs/calibration.md).",
    ]
    write_section(f"lfw-{args.embedder}", "\n".join(lines))

    if args.write_calibration:
        dist = ours["dist"]
        current = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else {}
        current[args.embedder] = {
            "threshold": round(ours["threshold_all"], 4),
            "logistic": [round(a, 4), round(b, 4)],
            "genuine_quantiles": quantiles(dist[same & np.isfinite(dist)]),
            "impostor_quantiles": quantiles(dist[~same & np.isfinite(dist)]),
            "fitted_on": "LFW View-2 pairs.txt, all 6000 pairs (bench/lfw.py)",
            "lfw_10fold_accuracy": round(ours["accuracy_mean"], 4),
        }
        CALIBRATION_FILE.write_text(json.dumps(current, indent=2) + "\n")
        print(f"wrote {CALIBRATION_FILE}")


if __name__ == "__main__":
    main()

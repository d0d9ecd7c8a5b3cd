"""Calibrate and measure the face-region similarity of family resemblance
(``ml/family/resemblance.py``).

    .venv/bin/python bench/family.py [--folds 3]

On LFW View-2 pairs (the first ``--folds`` folds, 600 pairs each) every photo's main face is
aligned and embedded whole and with all but the eyes / nose / mouth greyed out. Per region it
writes the genuine and impostor distance quantiles to ``ml/family/calibration.json`` (the
similarity % then reads like the whole-face one) and reports in ``docs/family.md`` how well that
region alone separates same-person from different-person pairs (AUC, accuracy at the best
threshold).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import ml  # noqa: E402
from bench.lfw import read_pairs  # noqa: E402
from bench.report import machine  # noqa: E402
from ml.faces.verify import accuracy_at, best_threshold, quantiles, roc_auc  # noqa: E402
from ml.family.resemblance import CALIBRATION_FILE, REGIONS, face_vectors  # noqa: E402
from ml.paths import data_dir  # noqa: E402

DOC = ROOT / "docs" / "family.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    pairs, same, fold = read_pairs(data_dir() / "lfw")
    keep = fold < args.folds
    pairs, same = [p for p, k in zip(pairs, keep, strict=True) if k], same[keep]
    paths = sorted({p for pair in pairs for p in pair})
    start = time.time()
    vectors: dict[Path, dict[str, np.ndarray]] = {}
    for chunk in tqdm(range(0, len(paths), 64), desc="faces (x64)", unit="batch"):
        batch = [(p, ml.load_image(p)) for p in paths[chunk : chunk + 64]]
        found = ml.detect_batch([image for _, image in batch])
        kept = [(p, image, ml.main_face(faces, image.shape[1], image.shape[0]))
                for (p, image), faces in zip(batch, found, strict=True) if faces]
        rows = face_vectors([image for _, image, _ in kept], [face for _, _, face in kept])
        for n, (path, _, _) in enumerate(kept):
            vectors[path] = {k: v[n] for k, v in rows.items()}
    usable = np.array([a in vectors and b in vectors for a, b in pairs])
    rows = ["| region | AUC | accuracy (best threshold) | genuine median distance "
            "| impostor median distance |", "|---|---|---|---|---|"]
    calibration = {}
    for region in ("face", *REGIONS):
        dist = np.array([np.linalg.norm(vectors[a][region] - vectors[b][region])
                         for (a, b), ok in zip(pairs, usable, strict=True) if ok])
        flags = same[usable]
        threshold = best_threshold(dist, flags)
        auc = roc_auc(dist, flags)
        accuracy = accuracy_at(dist, flags, threshold)
        rows.append(f"| {region} | {auc:.4f} | {accuracy:.4f} | {np.median(dist[flags]):.4f} "
                    f"| {np.median(dist[~flags]):.4f} |")
        if region != "face":
            calibration[region] = {"threshold": round(float(threshold), 4), "auc": round(auc, 4),
                                   "genuine_quantiles": quantiles(dist[flags]),
                                   "impostor_quantiles": quantiles(dist[~flags])}
    name = ml.get_embedder().name
    CALIBRATION_FILE.write_text(json.dumps(
        {name: calibration,
         "fitted_on": f"LFW View-2 pairs.txt, folds 1-{args.folds}: {int(usable.sum())} pairs "
                      "(bench/family.py)"}, indent=1))
    doc = [
        "# Family resemblance: what the region scores measure",
        "",
        "`ml/family/resemblance.py` compares faces whole (the calibrated similarity % of "
        "`ml.faces.verify`) and by",
        "region: the aligned 150 px chip is embedded again with everything but the eyes (and",
        "brows), the nose, or the mouth filled with grey, and the distance between two people's",
        "masked chips is turned into a % by that region's own calibration (same formula as the",
        "whole face: 50 x share of genuine pairs farther apart + 50 x share of impostor pairs",
        "farther apart; ~75% is typical of one person's two photos, ~25% of two strangers).",
        "",
        "How much each region alone tells people apart, on LFW View-2 pairs "
        f"(folds 1-{args.folds}, {int(usable.sum())} pairs with a face in both photos; "
        f"`python bench/family.py`, {time.time() - start:.0f} s on {machine()}):",
        "",
        *rows,
        "",
        "The calibration is fitted on these same pairs (in-sample): the AUCs say how well each",
        "region separates people, not how well the % generalises.",
        "",
        "Region boxes on the 150 px aligned chip (x1, y1, x2, y2): "
        + ", ".join(f"{k} {v}" for k, v in REGIONS.items()) + ".",
        "",
        "Caveats: these are adults' photos of one person versus strangers, not relatives. On",
        "children (faces still growing) and across decades of age, all scores are less reliable;",
        "the web app says so next to every family result.",
    ]
    DOC.write_text("\n".join(doc) + "\n")
    print("\n".join(rows))
    print(f"wrote {CALIBRATION_FILE} and {DOC}")


if __name__ == "__main__":
    main()

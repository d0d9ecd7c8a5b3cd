"""Measure (and, with ``--write``, calibrate) the face-region similarity of family
resemblance (``ml/family/resemblance.py``).

    .venv/bin/python -m bench.family [--folds 2]           # measure: docs/family.md
    .venv/bin/python -m bench.family --write [--folds 2]   # refit ml/family/calibration.json

On LFW View-2 pairs (the first ``--folds`` folds, 600 pairs each) every photo's main face is
aligned and embedded whole and with all but the eyes / nose / mouth greyed out. It reports in
``docs/family.md`` how well each region alone separates same-person from different-person pairs:
AUC, and accuracy at the shipped calibration's threshold. Only with ``--write`` does it first
fit the calibration on these pairs (per region: the best threshold, the genuine and impostor
distance quantiles, so the similarity % reads like the whole-face one) and write it to
``ml/family/calibration.json``; the accuracy reported is then in-sample, and the page says so.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import ml
from bench.lfw import read_pairs
from bench.report import machine
from ml.faces.verify import accuracy_at, best_threshold, quantiles, roc_auc
from ml.faces.verify import calibration as face_calibration
from ml.family.resemblance import CALIBRATION_FILE, REGIONS, face_vectors
from ml.files import write_json
from ml.paths import data_dir

ROOT = Path(__file__).resolve().parent.parent

DOC = ROOT / "docs" / "family.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--write", action="store_true",
                        help=f"fit the calibration on these pairs and write {CALIBRATION_FILE}")
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
    name = ml.get_embedder().name
    measured = f"LFW View-2 pairs.txt, folds 1-{args.folds}: {int(usable.sum())} pairs"
    distances = {region: np.array([np.linalg.norm(vectors[a][region] - vectors[b][region])
                                   for (a, b), ok in zip(pairs, usable, strict=True) if ok])
                 for region in ("face", *REGIONS)}
    flags = same[usable]
    if args.write:  # fit on these pairs, then measure on them (in-sample)
        calibration = {
            region: {"threshold": round(float(best_threshold(dist, flags)), 4),
                     "auc": round(roc_auc(dist, flags), 4),
                     "genuine_quantiles": quantiles(dist[flags]),
                     "impostor_quantiles": quantiles(dist[~flags])}
            for region, dist in distances.items() if region != "face"}
        write_json(CALIBRATION_FILE, {name: calibration,
                                      "fitted_on": f"{measured} (bench/family.py --write)"},
                   indent=1)
    shipped = json.loads(CALIBRATION_FILE.read_text())
    thresholds = {"face": face_calibration(name)["threshold"],
                  **{region: shipped[name][region]["threshold"] for region in REGIONS}}
    rows = ["| region | AUC | accuracy (calibration's threshold) | genuine median distance "
            "| impostor median distance |", "|---|---|---|---|---|"]
    for region, dist in distances.items():
        accuracy = accuracy_at(dist, flags, thresholds[region])
        rows.append(f"| {region} | {roc_auc(dist, flags):.4f} | {accuracy:.4f} "
                    f"| {np.median(dist[flags]):.4f} | {np.median(dist[~flags]):.4f} |")
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
        f"`python -m bench.family{' --write' if args.write else ''}`, "
        f"{time.time() - start:.0f} s on {machine()}):",
        "",
        *rows,
        "",
        f"Region thresholds from `ml/family/calibration.json`, fitted on {shipped['fitted_on']};",
        "the whole face's from `ml/faces/calibration.json` (all LFW View-2 pairs). Measured on",
        "pairs the calibration was fitted on, the accuracy is in-sample: the AUCs say how well",
        "each region separates people, not how well the % generalises.",
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
    print(f"wrote {DOC}" + (f" and {CALIBRATION_FILE}" if args.write else ""))


if __name__ == "__main__":
    main()

"""Fairness figures: how the numbers a user sees hold up across the groups the data allows.

    .venv/bin/python -m bench.fairness        # writes docs/fairness.md

- Faces, per dataset (LFW: mostly white adults, mostly men; CFP: celebrities of many origins;
  Bollywood: South Asian film actors, 64 px crops): at the calibrated same-person threshold, the
  false-match rate (two different people called the same) and false non-match rate, on the
  pairs of ``bench/faces.py``; rank-1 identification; and what a stranger sees: in a gallery of
  ``STRANGERS`` people drawn at random (as many in every set: Bollywood has no more), each one's
  first photo against every photo of the others, the best similarity %, pooled over ``DRAWS``
  draws (seed 0): the situation of a user who is in no gallery.
- Emotion: accuracy per class on FER2013 validation (the shipped weights, measured as
  `make bench-emotion` does).
- Portrait: IoU per photo type on the model's 50 validation photos; the type is measured, not
  guessed: faces found by MTCNN (none, one, several) and the largest face's height over the
  photo's (close-up at 0.2 and above, else wider / full body).
- Faces per perceived group, on a hand-annotated sample of 100 CFP people
  (``docs/data/cfp_perceived_labels.csv``, how it was made: ``docs/fairness.md``): the
  false-match rate on every pair of photos of two different people of the same group.
Embeddings come from ``bench/faces.py``'s cache (``$LOOKALIKE_HOME/bench``; made if missing).
No dataset here labels skin tone, gender or age: the sample above is the project's own,
perceived from one photo each; see the "What is missing" section.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

import ml
from bench.faces import embeddings, identification, load_set, pairs_for
from bench.report import machine
from ml.emotion.model import CLASSES, predict_crops
from ml.faces.verify import calibration, similarity
from ml.paths import data_dir
from ml.portrait.model import iou, portrait_mask, validation_stems
from ml.training.emotion import load_fer2013

ROOT = Path(__file__).resolve().parent.parent

FAIRNESS_MD = ROOT / "docs" / "fairness.md"
LABELS_CSV = ROOT / "docs" / "data" / "cfp_perceived_labels.csv"
SETS = {"lfw": "LFW (news photos; mostly white adults, mostly men)",
        "cfp": "CFP (celebrities of many origins, frontal)",
        "bollywood": "Bollywood (South Asian film actors; 64 px crops)"}
STRANGERS = 30  # people per gallery in the stranger test (Bollywood has 33 in all)
DRAWS = 20
CLOSE_UP = 0.2  # face height / photo height


def face_rows() -> list[dict]:
    threshold = calibration("dlib")["threshold"]
    rows = []
    fr_threshold = None
    for name, label in SETS.items():  # LFW first: both thresholds are set there
        photos = load_set(name)
        vectors, _ = embeddings("ours", photos)
        pairs, same, _ = pairs_for(photos)
        dist = np.linalg.norm(vectors[pairs[:, 0]] - vectors[pairs[:, 1]], axis=1)
        ok = np.isfinite(dist)
        fmr = float(np.mean(dist[ok & ~same] < threshold))
        fnmr = float(np.mean(dist[ok & same] >= threshold))
        theirs, _ = embeddings("face_recognition", photos)  # the same dlib network, its pipeline
        fr = np.linalg.norm(theirs[pairs[:, 0]] - theirs[pairs[:, 1]], axis=1)
        fr_ok = np.isfinite(fr)
        if fr_threshold is None:  # the distance at which it makes as many false matches on LFW
            fr_threshold = float(np.quantile(fr[fr_ok & ~same], fmr))
        rank1, _, _ = identification(vectors, photos.person)
        rows.append({"set": label, "pairs": int(ok.sum()), "fmr": fmr, "fnmr": fnmr,
                     "fr_pairs": int(fr_ok.sum()), "fr_threshold": fr_threshold,
                     "fr_fmr": float(np.mean(fr[fr_ok & ~same] < fr_threshold)),
                     "fr_fnmr": float(np.mean(fr[fr_ok & same] >= fr_threshold)),
                     "rank1": rank1, **strangers(vectors, photos.person)})
        print(rows[-1], flush=True)
    return rows


def strangers(vectors: np.ndarray, person: np.ndarray) -> dict:
    """In galleries of ``STRANGERS`` random people, each one's best match among the others."""
    rng = np.random.default_rng(0)
    has = np.isfinite(vectors[:, 0])
    best = []
    for _ in range(DRAWS):
        people = rng.choice(np.unique(person[has]), STRANGERS, replace=False)
        rows = np.flatnonzero(has & np.isin(person, people))
        probes = np.array([rows[person[rows] == p][0] for p in people])
        dist = torch.cdist(torch.from_numpy(vectors[probes]),
                           torch.from_numpy(vectors[rows])).numpy()
        dist[person[probes][:, None] == person[rows][None, :]] = np.inf  # never themselves
        best.append(similarity(dist.min(axis=1), "dlib"))
    best = np.concatenate(best)
    return {"stranger_median": float(np.median(best)), "stranger_p90": float(np.percentile(
        best, 90)), "stranger_over_80": float(np.mean(best >= 80))}


def group_rows(fr_threshold: float) -> list[tuple[str, str, int, int, float, float]]:
    """(label, group, people, impostor pairs, false-match rate, face_recognition's at
    ``fr_threshold``) on the annotated CFP sample."""
    import csv

    photos = load_set("cfp")
    ours, _ = embeddings("ours", photos)
    theirs, _ = embeddings("face_recognition", photos)
    names = [p.person for p in photos.photos]
    labels = {r["person"]: r for r in csv.DictReader(LABELS_CSV.open())}
    threshold = calibration("dlib")["threshold"]

    def false_match(vectors: np.ndarray, members: set[str], below: float) -> tuple[int, float]:
        index = np.array([i for i, n in enumerate(names)
                          if n in members and np.isfinite(vectors[i, 0])])
        dist = torch.cdist(torch.from_numpy(vectors[index]),
                           torch.from_numpy(vectors[index])).numpy()
        who = photos.person[index]
        different = np.triu(who[:, None] != who[None, :], 1)
        return int(different.sum()), float(np.mean(dist[different] < below))

    rows = []
    for label in ("presentation", "skin_tone"):
        for group in sorted({r[label] for r in labels.values()}):
            members = {n for n, r in labels.items() if r[label] == group}
            pairs, fmr = false_match(ours, members, threshold)
            rows.append((label.replace("_", " "), group, len(members), pairs, fmr,
                         false_match(theirs, members, fr_threshold)[1]))
    return rows


def emotion_rows() -> list[tuple[str, float, int]]:
    """Per-class accuracy of the shipped (fp16) weights on FER2013 validation, as
    `make bench-emotion` measures it."""
    crops, labels = load_fer2013()["validation"]
    predicted = predict_crops(crops).argmax(1)
    return [(name, float((predicted[labels == i] == i).mean()), int((labels == i).sum()))
            for i, name in enumerate(CLASSES)]


def portrait_rows() -> list[tuple[str, int, float, float]]:
    folder = data_dir() / "human_seg"
    kinds: dict[str, list[float]] = {}
    for stem in validation_stems():
        image = ml.load_image(folder / "images" / f"{stem}.jpg")
        truth = np.asarray(Image.open(folder / "masks" / f"{stem}.png").convert("L"))
        score = iou(portrait_mask(image), truth)
        faces = ml.detect(image)
        people = "no face found" if not faces else ("one face" if len(faces) == 1
                                                     else "several faces")
        framing = ("close-up" if faces and faces[0].height / image.shape[0] >= CLOSE_UP
                   else "wider / full body")
        for kind in (people, framing):
            kinds.setdefault(kind, []).append(score)
    return [(kind, len(s), float(np.mean(s)), float(np.min(s))) for kind, s in kinds.items()]


def main() -> None:
    torch.set_num_threads(2)
    faces = face_rows()
    groups = group_rows(faces[0]["fr_threshold"])
    emotions = emotion_rows()
    portraits = portrait_rows()
    threshold = calibration("dlib")["threshold"]
    lfw = faces[0]
    lines = [
        "# Fairness: how the numbers hold up across groups",
        "",
        f"Written by `.venv/bin/python -m bench.fairness` on {machine()}. The method is in the "
        "script's docstring; every figure below is from that run.",
        "",
        "## Faces: same-person calls and what a stranger sees",
        "",
        f"At the same-person threshold (distance {threshold}, fitted on LFW): false-match rate "
        "(different people called the same), false non-match rate (one person called two), "
        "on the pairs of `bench/faces.py` (LFW's View 2; 3,000 + 3,000 generated pairs "
        "elsewhere), and rank-1 identification. \"A stranger's best match\": in galleries of "
        f"{STRANGERS} random people ({DRAWS} draws per set), the similarity % of each one's "
        "nearest photo of someone else: what a user who is in no gallery is shown. "
        "face_recognition's columns: the same pairs through it (the same dlib network behind "
        "its own HOG detector and alignment; pairs where it found both faces), its unit "
        f"vectors at distance {faces[0]['fr_threshold']:.3f}: the threshold that gives it as "
        "many false matches on LFW as ours, so the other rows compare like with like.",
        "",
        "| set | pairs | false match | false non-match | rank-1 | a stranger's best match: "
        "median | 90th percentile | share at 80% or more | face_recognition: false match "
        "| false non-match |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in faces:
        lines.append(
            f"| {r['set']} | {r['pairs']:,} | {100 * r['fmr']:.2f}% | {100 * r['fnmr']:.2f}% "
            f"| {100 * r['rank1']:.2f}% | {r['stranger_median']:.1f}% "
            f"| {r['stranger_p90']:.1f}% | {100 * r['stranger_over_80']:.1f}% "
            f"| {100 * r['fr_fmr']:.2f}% | {100 * r['fr_fnmr']:.2f}% |")
    worse = [r for r in faces[1:] if r["fmr"] > 2 * max(lfw["fmr"], 1e-4)
             or r["stranger_median"] > lfw["stranger_median"] + 5]
    lines += [""]
    if worse:
        lines.append(
            "**Worse than LFW, where the calibration was fitted:** " + "; ".join(
                f"{r['set'].split(' (')[0]}: false matches {100 * r['fmr']:.2f}% vs "
                f"{100 * lfw['fmr']:.2f}%, a stranger's best match {r['stranger_median']:.1f}% "
                f"vs {lfw['stranger_median']:.1f}% (median)" for r in worse)
            + ". The similarity % of people from these groups reads higher than it should: "
            "the lookalike page says so under its numbers. Bollywood's photos are also 64 px "
            "crops, which alone blurs faces together: this set cannot separate origin from "
            "image quality.")
    else:
        lines.append("No set is clearly worse than LFW at this threshold.")
    lines += [
        "",
        "## Faces per perceived group (a hand-annotated sample of CFP)",
        "",
        "How the labels were made: 100 CFP people drawn at random (seed 0), one photo of each "
        "looked at by the developer who wrote this benchmark, who noted the presentation "
        "(woman, man) and a skin tone in three bins (lighter, medium, darker). These are "
        "perceptions from one photo, not what the people say of themselves; lighting moves "
        "the tone bins, and the groups are small. The list: "
        "`docs/data/cfp_perceived_labels.csv`. False match: every pair of photos of two "
        "different people of the same group, at the same-person threshold.",
        "",
        "face_recognition: the same people through it, at the threshold of the table above "
        "(as many false matches on LFW as ours).",
        "",
        "| label | group | people | pairs of different people | false match | face_recognition |",
        "|---|---|---|---|---|---|",
        *[f"| {label} | {group} | {n} | {pairs:,} | {100 * fmr:.2f}% | {100 * fr:.2f}% |"
          for label, group, n, pairs, fmr, fr in groups],
        "",
        *[f"**Worse:** {label}, {group}: false matches {100 * fmr:.2f}% against "
          f"{100 * best:.2f}% for {best_group} ({n} people; the lookalike page says so)."
          for label, group, n, _, fmr, _ in groups
          for best, best_group in [min((f, g) for lab, g, _, _, f, _ in groups if lab == label)]
          if fmr > 2 * best],
        "",
        "## Emotion: accuracy per class (FER2013 validation, the shipped network)",
        "",
        "| class | accuracy | photos |",
        "|---|---|---|",
        *[f"| {name} | {100 * acc:.1f}% | {n} |" for name, acc, n in emotions],
        "",
        "FER2013 has no age, gender or skin-tone labels, so no per-group figure can be given; "
        "`fear` and `sad` are the weakest classes (see `docs/emotion.md`).",
        "",
        "## Portrait: IoU by photo type (the 50 validation photos of `docs/portrait.md`)",
        "",
        f"Type measured by MTCNN: faces found, and the largest face's height over the photo's "
        f"(close-up at {CLOSE_UP} and above). A photo counts in one row of each kind.",
        "",
        "| photo type | photos | mean IoU | worst IoU |",
        "|---|---|---|---|",
        *[f"| {kind} | {n} | {mean:.3f} | {low:.3f} |" for kind, n, mean, low in portraits],
        "",
        "## What is missing",
        "",
        "- **Children**: no dataset here has children with identities, expressions or masks "
        "labelled; nothing is measured for them, and the family page says so.",
        "- **Skin tone, gender, age**: no dataset here labels them. Besides the per-set rows "
        "(Bollywood is one region's actors, not a skin-tone group), only the small "
        "hand-annotated CFP sample above speaks to them; age is not annotated at all.",
        "- **Emotion per group**: FER2013 and CK+ carry no group labels.",
    ]
    FAIRNESS_MD.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {FAIRNESS_MD}")


if __name__ == "__main__":
    main()

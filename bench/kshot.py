"""k-shot identification on CFP, and screen-time accuracy and speed on a synthetic clip.

    make bench-kshot      # = .venv/bin/python -m bench.kshot

- k-shot: for each of CFP's 500 people enrol k = 1, 2, 3, 5, 7 of their 9 photos (chosen at
  random, 5 draws), identify each remaining photo among all 500 people, nearest enrolled photo
  wins (what `lookalike identify` does). Reported: rank-1 accuracy, and "named" = correct and
  within the same-person threshold (an open-set system says "unknown" otherwise).
- Screen time: a clip assembled from LFW photos of people enrolled with 4 photos each (other
  photos of theirs on screen, plus strangers) with exact on-screen intervals; error in seconds
  per person, and sampled frames processed per second on CPU.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import torch

from bench.clip import make_clip
from bench.report import machine, write_section
from ml.faces.verify import calibration
from ml.galleries.build import GalleryData, build, collect, scan_sources
from ml.galleries.identify import OpenSetRule, open_set_rule
from ml.galleries.store import Gallery
from ml.paths import data_dir, home
from ml.progress import TqdmProgress
from ml.video.screentime import screentime

KS = (1, 2, 3, 5, 7)
DRAWS = 5


def cfp_faces() -> GalleryData:
    photos, _ = scan_sources([data_dir() / "cfp"])
    return collect(photos, set(), None, TqdmProgress())[0]


def nearest_two(data: GalleryData, enrol: list[int], probe: list[int]):
    """Per probe: the nearest enrolled identity, its distance, the next identity's distance."""
    sims = torch.from_numpy(data.vectors[probe]) @ torch.from_numpy(data.vectors[enrol]).T
    labels = torch.from_numpy(data.identity[enrol].astype(np.int64))
    people = labels.unique()
    best = torch.full((len(probe), len(people)), -2.0).scatter_reduce(
        1, torch.searchsorted(people, labels).expand_as(sims), sims, "amax")
    top, which = best.topk(2, dim=1)
    distance = torch.sqrt((2 - 2 * top).clamp(min=0)).numpy()
    return people[which[:, 0]].numpy(), distance[:, 0], distance[:, 1]


def kshot(data: GalleryData, draws: int = DRAWS) -> dict[int, tuple[float, float]]:
    rule = open_set_rule(data.embedder)
    rng = np.random.default_rng(0)
    rows_of = [np.flatnonzero(data.identity == i) for i in range(len(data.identities))]
    out = {}
    for k in KS:
        correct = named = total = 0
        for _ in range(draws):
            enrol, probe = [], []
            for rows in rows_of:
                if len(rows) <= k:
                    continue
                picked = rng.permutation(rows)
                enrol += list(picked[:k])
                probe += list(picked[k:])
            who, d1, d2 = nearest_two(data, enrol, probe)
            hit = who == data.identity[probe]
            correct += int(hit.sum())
            named += sum(h and rule.accepts(a, b) for h, a, b in zip(hit, d1, d2, strict=True))
            total += len(probe)
        out[k] = (correct / total, named / total)
        print(f"k={k}: rank-1 {out[k][0]:.4f}, named {out[k][1]:.4f} "
              f"({total // draws} probes per draw)", flush=True)
    return out


def open_set_rates(data: GalleryData, rules: list[OpenSetRule], pool: np.ndarray, size: int,
                   draws: int = 10) -> list[tuple[float, float]]:
    """Galleries of ``size`` people from ``pool`` (4 random photos each) shown the other photos
    of their people and every photo of ``size`` other people of the pool (strangers): per rule,
    the share of enrolled people's photos named right and of strangers' photos named someone."""
    rows_of = [np.flatnonzero(data.identity == i) for i in range(len(data.identities))]
    counts = np.zeros((len(rules), 4))
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        people = rng.permutation(pool)
        enrol, known = [], []
        for person in people[:size]:
            picked = rng.permutation(rows_of[person])
            enrol += list(picked[:4])
            known += list(picked[4:])
        strangers = [r for person in people[size : 2 * size] for r in rows_of[person]]
        for probe, genuine in ((known, True), (strangers, False)):
            who, d1, d2 = nearest_two(data, enrol, probe)
            hit = who == data.identity[probe]
            for n, rule in enumerate(rules):
                ok = (d1 <= rule.distance) & (d2 - d1 >= rule.margin)
                if genuine:
                    counts[n, 0] += (hit & ok).sum()
                    counts[n, 1] += len(probe)
                else:
                    counts[n, 2] += ok.sum()
                    counts[n, 3] += len(probe)
    return [(c[0] / c[1], c[2] / c[3]) for c in counts]


def fit_open_set(data: GalleryData, pool: np.ndarray, max_strangers: float = 0.05) -> OpenSetRule:
    """The rule naming the most enrolled people in galleries of 50 while naming at most
    ``max_strangers`` of strangers, on a grid (distance 0.30-0.45, margin 0-0.08)."""
    grid = [OpenSetRule(round(float(d), 2), round(float(m), 2))
            for d in np.arange(0.30, 0.455, 0.01) for m in np.arange(0.0, 0.085, 0.01)]
    rates = open_set_rates(data, grid, pool, 50)
    allowed = [(named, rule) for rule, (named, wrong) in zip(grid, rates, strict=True)
               if wrong <= max_strangers]
    return max(allowed, key=lambda x: (x[0], -x[1].distance))[1]


def open_set(data: GalleryData, report: np.ndarray, sizes=(8, 50)) -> list[str]:
    """The rule with the LFW pair threshold alone beside the shipped rule, on ``report`` people."""
    rules = {"distance only (LFW same-person threshold)":
             OpenSetRule(float(calibration(data.embedder)["threshold"]), 0.0),
             "shipped open-set rule": open_set_rule(data.embedder)}
    lines = ["| gallery | rule | enrolled people named right | strangers named someone |",
             "|---|---|---|---|"]
    for size in sizes:
        rates = open_set_rates(data, list(rules.values()), report, size)
        for (name, rule), (named, wrong) in zip(rules.items(), rates, strict=True):
            lines.append(f"| {size} people | {name}: distance {rule.distance:.4g}, margin "
                         f"{rule.margin:g} | {100 * named:.2f}% | {100 * wrong:.2f}% |")
    print("\n".join(lines), flush=True)
    return lines


CAST = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez", "Jennifer_Capriati",
        "Gloria_Macapagal_Arroyo", "Vladimir_Putin", "Jean_Chretien"]
STRANGERS = ["Ariel_Sharon", "John_Ashcroft", "Junichiro_Koizumi", "Jacques_Chirac"]


def photo(person: str, n: int) -> Path:
    return data_dir() / "lfw" / person / f"{person}_{n:04d}.jpg"


def screen_time_clip(folder: Path, rng: np.random.Generator) -> tuple[Path, dict]:
    """60 shots of 1-6 s: one to three cast members or strangers, or nobody."""
    shots = []
    for _ in range(60):
        count = rng.choice([0, 1, 1, 2, 3])
        who = rng.choice(CAST + STRANGERS, size=count, replace=False)
        shots.append((float(rng.integers(2, 13)) / 2,
                      [(p.replace("_", " ") if p in CAST else "stranger",
                        photo(p, int(rng.integers(10, 30)))) for p in who]))
    path = folder / "clip.mp4"
    return path, make_clip(shots, path, fps=10)


def screen_time(fps: float) -> tuple[dict, float, float, float]:
    name = f"bench-cast-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cast"
        for person in CAST:
            (src / person).mkdir(parents=True)
            for n in range(2, 6):
                shutil.copy(photo(person, n), src / person)
        build(name, [src])
        path, truth = screen_time_clip(Path(tmp), np.random.default_rng(0))
        start = time.perf_counter()
        result = screentime(path, Gallery.open(name), fps=fps, progress=TqdmProgress("frame"))
        seconds = time.perf_counter() - start
    (home() / "galleries" / name).unlink()
    for version in (home() / "galleries").glob(f".{name}.*"):
        shutil.rmtree(version, ignore_errors=True)
    found = {p.name: p.appearances for p in result.people}
    rows = {person: (length(spans), length(found.get(person, [])),
                     length(spans) - overlap(spans, found.get(person, [])),
                     length(found.get(person, [])) - overlap(spans, found.get(person, [])))
            for person, spans in truth.items() if person != "stranger"}
    rows.update({person: (0.0, length(spans), 0.0, length(spans))
                 for person, spans in found.items() if person not in truth})
    return rows, result.samples / seconds, result.duration


def length(spans: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in spans)


def overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(x1, y1) - max(x0, y0)) for x0, x1 in a for y0, y1 in b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = cfp_faces()
    people = np.arange(len(data.identities))
    fit_pool, report_pool = people[::2], people[1::2]  # choose on one half, report the other
    fitted = fit_open_set(data, fit_pool)
    print(f"open-set rule fitted on {len(fit_pool)} CFP people: distance {fitted.distance}, "
          f"margin {fitted.margin} (ml/galleries/identify.py OPEN_SET ships "
          f"{open_set_rule(data.embedder)})", flush=True)
    shots = kshot(data)
    rules = open_set(data, report_pool)
    errors, rate, duration = screen_time(args.fps)
    lines = [
        "## k-shot identification (CFP) and screen time",
        "",
        f"`make bench-kshot` (`.venv/bin/python -m bench.kshot`) on {machine()}.",
        "",
        f"CFP, 500 people x 9 photos: enrol k photos per person (random, {DRAWS} draws), identify "
        "each remaining photo among all 500 (nearest enrolled photo). *Named* also requires "
        "`lookalike identify`'s open-set rule to accept the match (below); the rest would be "
        "called unknown. Reference point from the literature: 83% at one shot and 100% at seven "
        "on a 12-character set.",
        "",
        "| k | rank-1 | named (rank-1 and accepted by the open-set rule) |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {100 * a:.2f}% | {100 * b:.2f}% |" for k, (a, b) in shots.items()]
    lines += ["", "Open set, the reason for the rule: a gallery of N CFP people (4 random photos "
              "each) is shown the other photos of its people and every photo of N other people "
              f"(strangers), 10 draws. The rule's two numbers were chosen (`fit_open_set`: most "
              f"people named in galleries of 50 with at most 5% of strangers named; it gives "
              f"distance {fitted.distance:g}, margin {fitted.margin:g}) on the other "
              f"{len(fit_pool)} CFP people; the table is on the {len(report_pool)} people never "
              "used to choose them, and the screen-time clip below (LFW photos) is another "
              "independent check.", ""]
    lines += rules
    mean_error = np.mean([abs(t - f) for t, f, _, _ in errors.values()])
    lines += [
        "",
        f"Screen time: a {duration:.0f} s synthetic clip (60 shots of 1-6 s, 10 fps, LFW photos "
        f"not used for enrolment; {len(CAST)} people enrolled with 4 photos each, plus "
        f"{len(STRANGERS)} strangers), sampled at {args.fps:g} frames/s.",
        "",
        "| person | true seconds | measured | error | missed | credited wrongly |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {p} | {t:.1f} | {f:.1f} | {f - t:+.1f} | {m:.1f} | {x:.1f} |"
              for p, (t, f, m, x) in errors.items()]
    lines += ["", f"Mean absolute error **{mean_error:.2f} s** per person "
              f"(the clip lasts {duration:.0f} s); "
              f"**{rate:.1f} sampled frames/s** (detect + embed + track, {args.threads} threads)."]
    print("\n".join(lines[-3:]))
    write_section("kshot", "\n".join(lines))


if __name__ == "__main__":
    main()

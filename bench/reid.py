"""Body re-identification: our network beside the two teachers on CUHK03 val.

    python -m bench.reid [--write] [--weights W.pt]        (or `make bench-reid`)

- CUHK03 val (100 people never trained on, 938 crops; the repository's ``detected/val`` holds
  the very files of ``labeled/val``, so it is measured once): each camera's crops searched among
  the other camera's, both ways; rank-1 and mAP (``ml.training.reid.cross_camera``).
  Nothing is chosen on this split: the shipped weights are a training run's final epoch.
- Beside: OSNet x0.25 trained on MSMT17 (``osnet_x0_25_msmt17.onnx``, ImageNet-normalised RGB)
  and Intel's person-reidentification-retail-0267 (BGR 0-255; its MeanVarianceNormalization
  nodes get an epsilon here, without which ONNX Runtime gives NaN), run by onnxruntime: the
  tools a user would pick instead. They are teachers at training time only and never shipped.
- CPU time: milliseconds a crop, one crop at a time (median of 30), 2 threads.
- Person boxes (what the product crops bodies from): the portrait U-Net's mask regions split by
  our detector's faces (``ml.bodies.detection``) beside OpenCV's HOG people detector, on the
  full-body validation photos (clothing-co-parsing 0801-0900, one person, box = the labelled
  person's extent) and the 40 several-people composites of those photos (``bench/portrait.py``'s,
  each person's placed box): share of people found (IoU >= 0.5, one box per person), boxes that
  are nobody, ms a photo. OpenCV 5 moved HOG into the contrib wheel; without it HOG is skipped
  (measured here with ``opencv-contrib-python-headless`` 5.1.0.95 unpacked on PYTHONPATH).

Data: $LOOKALIKE_CUHK03 and $LOOKALIKE_FULLBODY (``ml.training.reid.FETCH`` and
``ml.training.fullbody.FETCH`` say how; CUHK01 is reserved and never
read). Teachers: $LOOKALIKE_REID_TEACHERS (default ~/.cache/lookalike/reid-teachers), the two
ONNX files taken from `fetch github:akshaydhame2001/YOLOv8_Tracking_TensorRT`
(osnet_x0_25_msmt17.onnx) and `fetch github:yas-sim/object-tracking-line-crossing-area-intrusion`
(intel/person-reidentification-retail-0287/person-reidentification-retail-0267.onnx). A set or
teacher that is absent is skipped with how to fetch it. ``--write`` writes docs/benchmarks.md's
section and docs/data/reid.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.report import machine, write_section  # noqa: E402
from ml.paths import home  # noqa: E402
from ml.training.reid import FETCH, cross_camera, cuhk03, load_crops, onnx_reid  # noqa: E402

TEACHERS = Path(os.environ.get("LOOKALIKE_REID_TEACHERS") or home() / "reid-teachers")
OSNET = "osnet_x0_25_msmt17.onnx"
INTEL = "person-reidentification-retail-0267.onnx"
GOAL_RANK1, GOAL_MS = 0.80, 20.0
OURS = "Lookalike body net (ours)"
DOCS_JSON = ROOT / "docs" / "data" / "reid.json"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def with_epsilon(path: Path, epsilon: float = 1e-5) -> bytes:
    """The ONNX model with each MeanVarianceNormalization node written out as
    (x - mean) / sqrt(var + epsilon): the node itself has no epsilon and gives NaN on
    constant channels."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    model.graph.initializer.append(numpy_helper.from_array(np.array(epsilon, np.float32),
                                                           "mvn_epsilon"))
    nodes = []
    for n, node in enumerate(model.graph.node):
        if node.op_type != "MeanVarianceNormalization":
            nodes.append(node)
            continue
        axes = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "axes")
        x, y, p = node.input[0], node.output[0], f"mvn{n}_"
        nodes += [helper.make_node("ReduceMean", [x], [p + "mean"], axes=axes, keepdims=1),
                  helper.make_node("Sub", [x, p + "mean"], [p + "d"]),
                  helper.make_node("Mul", [p + "d", p + "d"], [p + "d2"]),
                  helper.make_node("ReduceMean", [p + "d2"], [p + "var"], axes=axes, keepdims=1),
                  helper.make_node("Add", [p + "var", "mvn_epsilon"], [p + "var_eps"]),
                  helper.make_node("Sqrt", [p + "var_eps"], [p + "std"]),
                  helper.make_node("Div", [p + "d", p + "std"], [y])]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model.SerializeToString()


def teacher(name: str):
    """(crops uint8 NHWC RGB -> unit vectors) for a teacher, or None when its file is absent."""
    path = TEACHERS / name
    if not path.exists():
        log(f"{name}: not in {TEACHERS}, skipped (see bench/reid.py's docstring)")
        return None
    if name == INTEL:  # BGR, 0-255, its normalisation nodes patched
        return onnx_reid(with_epsilon(path), bgr=True, threads=2)
    return onnx_reid(path, threads=2)


def ours(weights: str | None):
    from ml.bodies.embedding import embed_bodies

    return lambda crops: embed_bodies(list(crops), weights)


def milliseconds(embed, crop: np.ndarray, reps: int = 30) -> float:
    embed(crop[None])
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        embed(crop[None])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


HOG_SIDE = 480  # HOG looks for 64x128 windows: photos are scaled to this longest side first


def hog_people(image: np.ndarray, faces=()) -> list:
    """OpenCV's HOG + linear SVM people detector (Dalal and Triggs), non-maximum suppressed."""
    import cv2

    from ml.bodies.detection import Person

    scale = min(1.0, HOG_SIDE / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    rects, weights = hog.detectMultiScale(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY),
                                          winStride=(8, 8), padding=(16, 16), scale=1.05)
    if len(rects) == 0:
        return []
    weights = np.asarray(weights, np.float32).ravel()
    keep = np.ravel(cv2.dnn.NMSBoxes([[int(v) for v in r] for r in rects], weights.tolist(),
                                     0.0, 0.4))
    return [Person(tuple(float(v) / scale for v in (x, y, x + w, y + h)), float(weights[i]))
            for i, (x, y, w, h) in ((int(i), rects[int(i)]) for i in keep)]


def matched(found: list, truth: list) -> tuple[int, int]:
    """(people found at IoU >= 0.5, boxes left over), pairing greedily by IoU."""
    from ml.bodies.detection import box_iou

    pairs = sorted(((box_iou(p.box, t), i, j) for i, p in enumerate(found)
                    for j, t in enumerate(truth)), reverse=True)
    used_found, used_truth = set(), set()
    for overlap, i, j in pairs:
        if overlap >= 0.5 and i not in used_found and j not in used_truth:
            used_found.add(i)
            used_truth.add(j)
    return len(used_truth), len(found) - len(used_found)


def person_boxes() -> dict:
    """Both finders on the full-body photos and the several-people composites."""
    import cv2

    from ml.bodies.detection import find_people
    from ml.faces.detection import detect
    from ml.training import fullbody

    if not fullbody.available():
        log(f"person boxes: skipped, clothing-co-parsing is not in {fullbody.fullbody_dir()} "
            f"({fullbody.FETCH})")
        return {}
    stems, images, masks = fullbody.load_fullbody(fullbody.VALIDATION)
    kinds = {"full body": [(im, [tuple(float(v) for v in extent(m))])
                           for im, m in zip(images, masks, strict=True)]}
    boxes: list = []
    made = fullbody.groups(images, masks, boxes=boxes)
    kinds["several people"] = [(g, b) for (g, _), b in zip(made, boxes, strict=True)]
    finders = {"portrait U-Net mask + faces (ours)": find_people}
    if hasattr(cv2, "HOGDescriptor"):
        finders["OpenCV HOG people detector"] = hog_people
    else:
        log("HOG: this OpenCV has no HOGDescriptor (OpenCV 5 moved it into the contrib wheel); "
            "skipped")
    out: dict = {}
    for kind, photos in kinds.items():
        faces = [[f.box for f in detect(im)] for im, _ in photos]
        for name, finder in finders.items():
            found = people = extra = 0
            times = []
            for (image, truth), face_boxes in zip(photos, faces, strict=True):
                start = time.perf_counter()
                boxes_found = finder(image, face_boxes)
                times.append(time.perf_counter() - start)
                hit, spare = matched(boxes_found, truth)
                found, people, extra = found + hit, people + len(truth), extra + spare
            out.setdefault(name, {})[kind] = {
                "photos": len(photos), "people": people, "found": found / people,
                "extra_per_photo": extra / len(photos), "ms": 1000 * float(np.median(times))}
            log(f"person boxes, {kind}: {name}: found {found}/{people}, "
                f"{extra} boxes of nobody, {out[name][kind]['ms']:.0f} ms a photo")
    return out


CLIP_SCRIPT = [  # A, B, C are the film's cast (in its gallery); D, E, F are strangers
    [("A", "FFFBBB"), ("B", "BBFFFF")],  # A turns away, B turns round
    [("C", "FFFFFF"), ("D", "BBBBBB")],  # a stranger never shows their face
    [("A", "BBBBBB")],  # A only from behind: named by the body seen in shot 1
    [("B", "BBBBB"), ("C", "FFFFF")],
    [("E", "FFFF"), ("F", "BBBB")],  # strangers, one turned away
]
CLIPS = 3
MIN_ACTOR_FACE = 60  # px in the photo (about 48 px in the 720p clip: screen time keeps >= 40)


def clip_actors(numbers: list[int], count: int, seed: int) -> tuple[list, list]:
    """``count`` CCP people for turn-away clips (a seeded draw of those with one face at least
    MIN_ACTOR_FACE wide that our detector no longer finds once turned away) and the emptied
    backgrounds of the rest."""
    from bench.clip import turn_away
    from ml.faces.detection import detect
    from ml.training import fullbody

    order = np.random.default_rng(seed).permutation(numbers)
    actors, backgrounds = [], []
    for number in order:
        image, mask = fullbody.load_person(int(number))
        faces = detect(image)
        if len(actors) < count and len(faces) == 1 and faces[0].width >= MIN_ACTOR_FACE:
            back = turn_away(image, mask, faces[0].box)
            if not detect(back) and not detect(np.ascontiguousarray(back[:, ::-1])):
                actors.append((f"CCP {int(number):04d}", (image, mask, faces[0].box)))
                continue
        if len(backgrounds) < 2 * CLIPS:
            backgrounds.append(fullbody.empty_background(image, mask))
        if len(actors) == count and len(backgrounds) == 2 * CLIPS:
            break
    return actors, backgrounds


def clip_runs(folder: Path, numbers: list[int], clips: int, seed: int, bodies=(False, True)):
    """For each of ``clips`` clips of CLIP_SCRIPT with CCP people ``numbers`` (a seeded draw),
    each with its own cast gallery (A, B, C's photos as enrolled): (cast letter → name, the
    truth, {bodies: (ScreenTime, seconds it took)})."""
    import shutil
    import uuid

    from PIL import Image

    from bench.clip import make_turnaway_clip
    from ml.galleries.build import build
    from ml.galleries.store import Gallery, delete_gallery
    from ml.video.screentime import screentime

    actors, backgrounds = clip_actors(numbers, 6 * clips, seed)
    for n in range(clips):
        cast = dict(zip("ABCDEF", actors[6 * n:6 * n + 6], strict=True))
        named = {letter: name for letter, (name, _) in cast.items()}
        shots = [[(named[p], letters) for p, letters in shot] for shot in CLIP_SCRIPT]
        path = folder / f"turnaway{n + 1}.mp4"
        truth = make_turnaway_clip(dict(cast.values()), shots, path,
                                   backgrounds[2 * n:2 * n + 2])
        enrol = folder / f"cast{n + 1}"
        for letter in "ABC":
            name, (image, _, _) = cast[letter]
            (enrol / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(enrol / name / "photo.jpg", quality=92)
        gallery_name = f"bench-turnaway-{uuid.uuid4().hex[:8]}"
        build(gallery_name, [enrol])
        try:
            gallery = Gallery.open(gallery_name)
            results = {}
            for flag in bodies:
                start = time.perf_counter()
                results[flag] = (screentime(path, gallery, bodies=flag),
                                 time.perf_counter() - start)
        finally:
            delete_gallery(gallery_name)
            shutil.rmtree(enrol, ignore_errors=True)
        yield named, truth, results


def turnaway_clips(folder: Path) -> dict:
    """Screen time with faces only (before) and with bodies (after) on CLIPS clips made from
    the full-body validation people; per cast member: seconds on screen, measured and true,
    and seconds facing the camera."""
    from ml.training import fullbody

    if not fullbody.available():
        log(f"turn-away clips: skipped, clothing-co-parsing is not in {fullbody.fullbody_dir()}")
        return {}
    rows, timing = [], []
    for n, (named, truth, results) in enumerate(
            clip_runs(folder, list(fullbody.VALIDATION), CLIPS, seed=29), 1):
        for letter in "ABC":
            name = named[letter]
            row = {"clip": n, "person": letter,
                   "true": sum(b - a for a, b in truth[name]["on_screen"]),
                   "facing": sum(b - a for a, b in truth[name]["facing"])}
            for flag, label in ((False, "before"), (True, "after")):
                got = next((p for p in results[flag][0].people if p.name == name), None)
                row[label] = got.seconds if got else 0.0
                row[label + "_body"] = got.body_seconds if got else 0.0
            rows.append(row)
            log(f"clip {n} {letter}: true {row['true']:.1f} s (facing {row['facing']:.1f}), "
                f"before {row['before']:.1f}, after {row['after']:.1f} "
                f"(body {row['after_body']:.1f})")
        timing.append({"video_s": results[True][0].duration, "before_s": results[False][1],
                       "after_s": results[True][1]})
    return {"rows": rows, "timing": timing}


def fit_body_link(folder: Path, clips: int = 6) -> dict:
    """The body link's (match, margin), chosen on development clips made from CCP training
    photos: every body track never seen with a face, its nearest named person and how similar;
    the pair naming the most of them right with at most 5% of them named wrongly (a stranger
    named, or the wrong cast member)."""
    from ml.training import fullbody

    cases = []  # (similarity, margin, nearest is right?, is a named cast member?)
    for named, _, results in clip_runs(folder, list(fullbody.TRAIN), clips, seed=0,
                                       bodies=(True,)):
        result = results[True][0]
        for track in result.body_tracks:
            if track.body_name is None:
                continue
            who = clip_person(track, named, result.frame_width)
            cases.append((track.body_name.similarity, track.body_name.margin,
                          track.body_name.nearest == named.get(who), who in "ABC"))
    sims, gaps, right, cast = (np.array(c) for c in zip(*cases, strict=True))
    best: dict = {"cases": len(cases), "cast": int(cast.sum())}
    for match in np.arange(0.30, 0.991, 0.01):
        for margin in np.arange(0.0, 0.201, 0.01):
            named_now = (sims >= match) & (gaps >= margin)
            wrong = float((named_now & ~(right & cast)).sum() / len(cases))
            hits = float((named_now & right & cast).sum() / max(1, cast.sum()))
            if wrong <= 0.05 and hits > best.get("named_right", -1):
                best.update(match=round(float(match), 2), margin=round(float(margin), 2),
                            named_right=hits, named_wrong=wrong)
    log(f"body link fitted on {len(cases)} faceless body tracks of development clips: {best}")
    return best


def clip_person(track, named: dict, width: int) -> str:
    """Which script letter a body track is: its shot (by time) and slot (by where it stands)."""
    t, box = track.times[0], track.boxes[0]
    start = 0.0
    for shot in CLIP_SCRIPT:
        seconds = len(shot[0][1])
        if t < start + seconds:
            slot = min(range(len(shot)), key=lambda k: abs(width * (k + 0.5) / len(shot)
                                                          - (box[0] + box[2]) / 2))
            return shot[slot][0]
        start += seconds
    return "?"


def extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask > 127)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--weights", help="a checkpoint other than the shipped one")
    parser.add_argument("--fit-link", action="store_true",
                        help="only fit the body link's match and margin on development clips "
                             "(what chose ml.bodies.link's constants) and print them")
    args = parser.parse_args()
    import tempfile

    import torch

    torch.set_num_threads(2)
    if args.fit_link:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(fit_body_link(Path(folder), clips=12)))
        return
    results = {"cuhk03": cuhk03_figures(args.weights), "boxes": person_boxes()}
    with tempfile.TemporaryDirectory() as folder:
        results["clips"] = turnaway_clips(Path(folder))
    text, _ = report(results)
    print(text)
    if args.write:
        write_section("reid", text)
        DOCS_JSON.write_text(json.dumps(results, indent=1) + "\n")
        log(f"wrote {DOCS_JSON}")


def cuhk03_figures(weights: str | None) -> dict:
    """Rank-1, mAP and ms a crop per network on CUHK03 val; {} when the set is absent."""
    try:
        paths, person, camera = cuhk03("val", ("labeled",))
    except FileNotFoundError:
        log(f"CUHK03 val: not on disk, skipped ({FETCH})")
        return {}
    methods = {OURS: ours(weights)}
    for label, name in (("OSNet x0.25, MSMT17 (teacher)", OSNET),
                        ("Intel person-reidentification-retail-0267", INTEL)):
        embed = teacher(name)
        if embed is not None:
            methods[label] = embed
    crops = load_crops(paths)
    out: dict = {}
    for method, embed in methods.items():
        out[method] = cross_camera(embed(crops), person, camera)
        log(f"CUHK03 val: {method}: rank-1 {out[method]['rank1']:.4f}, "
            f"mAP {out[method]['map']:.4f}")
    for method, embed in methods.items():
        out[method]["ms"] = milliseconds(embed, crops[0])
    out["_people"] = len(set(person))
    return out


def report(results: dict) -> tuple[str, list[str]]:
    md, goals = ["## Body re-identification and people whose face is not seen", "",
                 f"`python -m bench.reid --write` (`make bench-reid`); {machine()}."], []
    figures = {k: v for k, v in results["cuhk03"].items() if not k.startswith("_")}
    if figures:
        md += ["", "### CUHK03 val", "",
               f"{results['cuhk03']['_people']} people never trained on "
               f"({figures[OURS]['queries']} queries); each camera's crops searched among the "
               "other camera's, both ways (the repository's detected/val holds the same files "
               "as labeled/val). CUHK01 (reserved) is never read. Latency: one crop at a time, "
               "median of 30.", "",
               "| method | rank-1 | mAP | ms a crop (2 threads) |", "|---|---|---|---|"]
        for method, r in figures.items():
            md.append(f"| {method} | {r['rank1']:.4f} | {r['map']:.4f} | {r['ms']:.1f} |")
        rank1, ms = figures[OURS]["rank1"], figures[OURS]["ms"]
        goals.append(f"CUHK03 val rank-1 >= {GOAL_RANK1:.2f}: {rank1:.4f} "
                     f"({'met' if rank1 >= GOAL_RANK1 else 'NOT met'})")
        osnet = figures.get("OSNet x0.25, MSMT17 (teacher)")
        if osnet:
            goals.append(f"ahead of the OSNet x0.25 teacher: {rank1:.4f} vs {osnet['rank1']:.4f} "
                         f"({'met' if rank1 > osnet['rank1'] else 'NOT met'})")
        goals.append(f"<= {GOAL_MS:.0f} ms a crop on 2 CPU threads: {ms:.1f} ms "
                     f"({'met' if ms <= GOAL_MS else 'NOT met'})")
    if results["boxes"]:
        md += ["", "### Person boxes", "",
               "Full body: clothing-co-parsing 0801-0900, one person a photo, the truth box "
               "the labelled person's extent. Several people: the 40 composites of those "
               "photos that `bench/portrait.py` measures (2-3 people side by side, sometimes "
               "overlapping), each person's placed box. Found: a box at IoU >= 0.5 (one per "
               "person); boxes of nobody: the rest, a photo. ms: median a photo, 2 threads. The "
               "product uses the mask finder (`ml.bodies.detection`).", "",
               "| finder | kind | people found | boxes of nobody a photo | ms a photo |",
               "|---|---|---|---|---|"]
        for finder, kinds in results["boxes"].items():
            for kind, r in kinds.items():
                md.append(f"| {finder} | {kind} | {r['found']:.3f} ({r['people']} people) | "
                          f"{r['extra_per_photo']:.2f} | {r['ms']:.0f} |")
    if results["clips"]:
        rows = results["clips"]["rows"]
        md += ["", "### Screen time on turn-away clips", "",
               f"{CLIPS} clips of 27 s (720p, 10 fps, sampled at 2 a second) made from the "
               "full-body validation people (clothing-co-parsing 0801-0900), each with its own "
               "cast gallery of three (A, B, C, enrolled from their photo) and three strangers: "
               "A faces the camera 3 s then turns away 3 s beside B who turns round after 2 s; "
               "C beside a stranger never seen facing; A alone from behind for 6 s; B from "
               "behind beside C; two strangers, one turned away. Turned away = the face "
               "painted over with the hair's colour and the person mirrored (`bench/clip.py`): "
               "their clothes are still seen from the front, so this measures following and "
               "naming a person whose face is gone, not re-identification from behind "
               "(CUHK03 above measures that). The body link's match and margin were chosen on "
               "12 development clips of training photos (`--fit-link`), never on these.", "",
               "| clip | person | on screen (true) | facing the camera | faces only (before) "
               "| faces and bodies (after) | of which by body alone |",
               "|---|---|---|---|---|---|---|"]
        for r in rows:
            md.append(f"| {r['clip']} | {r['person']} | {r['true']:.1f} s | {r['facing']:.1f} s "
                      f"| {r['before']:.1f} s | {r['after']:.1f} s | {r['after_body']:.1f} s |")
        within = [abs(r["after"] - r["true"]) <= 1.0 for r in rows]
        before = [abs(r["before"] - r["true"]) <= 1.0 for r in rows]
        timing = results["clips"]["timing"]
        md += ["", f"Time to measure a 27 s clip: faces only "
               f"{np.mean([t['before_s'] for t in timing]):.1f} s, faces and bodies "
               f"{np.mean([t['after_s'] for t in timing]):.1f} s (mean of {len(timing)})."]
        worst = max(abs(r["after"] - r["true"]) for r in rows)
        goals.append(f"screen time within 1 s per cast member on the turn-away clips: "
                     f"{sum(within)} of {len(rows)} with bodies, {sum(before)} of {len(rows)} "
                     f"faces only; largest error {worst:.1f} s "
                     f"({'met' if all(within) else 'NOT met'})")
    goals.append("hostile inputs and the face figures: not measured here (faces are found and "
                 "named as before, bodies only after them; tests/webapp/test_hostile.py and "
                 "`make bench-identification` cover them)")
    md += ["", "### Goals (issue 29)", ""] + [f"- {g}" for g in goals]
    return "\n".join(md), goals


if __name__ == "__main__":
    main()

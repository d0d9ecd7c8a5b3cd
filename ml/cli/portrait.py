"""``lookalike portrait IN OUT`` (blur the background behind the person) and ``lookalike
portrait evaluate --images DIR --masks DIR`` (mask IoU per photo)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import ml
from ml.cli.common import CliError, default_subcommand
from ml.galleries.build import IMAGE_SUFFIXES

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "portrait", help="blur the background behind the person: IN OUT, or evaluate "
        "--images DIR --masks DIR",
        description="lookalike portrait IN OUT is lookalike portrait blur IN OUT")
    sub = group.add_subparsers(title="portrait commands")
    default_subcommand(group, "blur")

    p = sub.add_parser("blur", help="blur the background behind the person (the default: "
                       "lookalike portrait IN OUT)")
    p.add_argument("source", type=Path, metavar="IN")
    p.add_argument("out", type=Path, metavar="OUT", help="the result: .jpg, .jpeg or .png")
    p.add_argument("--blur", type=int, default=12,
                   help="blur radius in px per 1000 px of the photo's long side (12)")
    p.add_argument("--bokeh", action="store_true", help="a disc (lens-like) blur, not Gaussian")
    p.add_argument("--cutout", nargs="?", const=True, type=Path, metavar="PNG",
                   help="also write the person on transparency: PNG, or OUT-STEM.cutout.png "
                   "beside OUT when no path is given")
    p.set_defaults(run=run_blur)

    p = sub.add_parser("evaluate", help="mask IoU per photo and miou= over a folder")
    p.add_argument("--images", type=Path, required=True, help="folder of photos")
    p.add_argument("--masks", type=Path, required=True, help="folder of STEM.png masks (0/255)")
    p.add_argument("--validation", action="store_true",
                   help="only the shipped model's validation photos (by stem)")
    p.set_defaults(run=run_evaluate)


def run_blur(args: argparse.Namespace) -> int:
    source, out = args.source, args.out
    if out.suffix.lower() not in FORMATS:
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
    fmt = FORMATS[out.suffix.lower()]
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


def run_evaluate(args: argparse.Namespace) -> int:
    from PIL import Image

    from ml.portrait.model import iou, portrait_mask, validation_stems

    images_dir, masks_dir = args.images, args.masks
    for folder in (images_dir, masks_dir):
        if not folder.is_dir():
            raise CliError(f"{folder}: not a folder")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() == ".png"}
    photos = [p for p in sorted(images_dir.iterdir(), key=lambda p: (len(p.stem), p.stem))
              if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in masks]
    if args.validation:
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

"""``lookalike match``: the top-k lookalikes of every face, from the celebrities or a gallery."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ml
from ml.cli.common import CliError, EachImage, expand_images
from ml.galleries.store import DEFAULT_GALLERY


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("match", help="top-k lookalikes for every face in images or folders")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--gallery", default=DEFAULT_GALLERY)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--actors-only", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    p.add_argument("--sheet", type=Path, metavar="DIR",
                   help="also draw each photo's faces beside their lookalikes: DIR/STEM.jpg")
    p.set_defaults(run=run_match)


def run_match(args: argparse.Namespace) -> int:
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
        try:
            gallery = ensure_default_gallery(progress)
        finally:
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

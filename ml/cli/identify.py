"""``lookalike identify``: every face named from a gallery, or "unknown"."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.cli.common import CliError, EachImage, expand_images


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("identify", help="name every face from a gallery, or 'unknown'")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--gallery", required=True, help="a gallery of the people to recognise")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    p.add_argument("--draw", type=Path, metavar="DIR",
                   help="also write each photo with named boxes: DIR/STEM.jpg")
    p.set_defaults(run=run_identify)


def run_identify(args: argparse.Namespace) -> int:
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

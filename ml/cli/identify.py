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
    p.add_argument("--faces-only", action="store_true",
                   help="name faces only; by default, given several stills (one film's, say), "
                        "people whose face is not seen are named by their bodies from the "
                        "people named by face in the other stills")
    p.set_defaults(run=run_identify)


def run_identify(args: argparse.Namespace) -> int:
    from ml.bodies.link import name_faceless
    from ml.galleries.identify import identify
    from ml.galleries.store import Gallery
    from ml.render.identified import draw_identifications

    gallery = Gallery.open(args.gallery)
    images = expand_images(args.images)
    if not images:
        raise CliError("no images given (folders were empty)")
    each = EachImage(images, json_errors=args.json)
    stills = [(path, image, identify(image, gallery)) for path, image in each]
    bodies = (name_faceless([s[1] for s in stills], [s[2] for s in stills])
              if len(stills) > 1 and not args.faces_only else [[] for _ in stills])
    for (path, image, found), faceless in zip(stills, bodies, strict=True):
        if args.draw:
            args.draw.mkdir(parents=True, exist_ok=True)
            draw_identifications(image, found, faceless).save(args.draw / f"{path.stem}.jpg",
                                                              quality=90)
        if args.json:
            print(json.dumps({"image": str(path), "faces": [f.to_dict() for f in found],
                              "bodies": [b.to_dict() for b in faceless]}))
            continue
        print(f"{path}: {len(found)} face(s)"
              + (f", {len(faceless)} person(s) without a face" if faceless else ""))
        for n, who in enumerate(found, 1):
            print(f"  face {n} at [{box_text(who.box)}]: {who_text(who)}")
        for n, who in enumerate(faceless, 1):
            print(f"  body {n} at [{box_text(who.box)}]: {who_text(who)}")
    return each.exit_code


def box_text(box) -> str:
    return ", ".join(f"{v:.0f}" for v in box)


def who_text(who) -> str:
    return f"{who.name} ({who.similarity:.1f}%)" if who.known else "unknown"

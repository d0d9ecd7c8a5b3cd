"""``lookalike screentime``: seconds on screen per gallery person in a video."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("screentime", help="seconds on screen per gallery person in a video")
    p.add_argument("video", type=Path)
    p.add_argument("--gallery", required=True)
    p.add_argument("--fps", type=float, default=2.0, help="frames sampled per second (2)")
    p.add_argument("--faces-only", action="store_true",
                   help="count faces only; by default people whose face is not seen are "
                        "followed by their bodies too (slower)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="also write a CSV, a timeline chart and a contact sheet into DIR")
    p.set_defaults(run=run_screentime)


def run_screentime(args: argparse.Namespace) -> None:
    from ml.galleries.store import Gallery
    from ml.progress import TqdmProgress
    from ml.video.screentime import screentime, write_reports

    gallery = Gallery.open(args.gallery)
    progress = TqdmProgress(unit="frame")
    try:
        result = screentime(args.video, gallery, fps=args.fps, bodies=not args.faces_only,
                            progress=progress)
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
        body = f" ({person.body_seconds:.1f} s by body alone)" if person.body_seconds else ""
        print(f"  {person.name:<28} {person.seconds:7.1f} s   {spans}{body}")
    if not result.people:
        print("  nobody from the gallery was seen")
    if result.unknown_seconds:
        what = "(unknown people)" if result.bodies else "(unknown faces)"
        print(f"  {what:<28} {result.unknown_seconds:7.1f} s")

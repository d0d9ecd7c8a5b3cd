"""``lookalike match``: the top-k lookalikes of every face, from the celebrities or a gallery;
``--per-person DIR``: one answer per person from all their photos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.cli.common import CliError, EachImage, expand_images
from ml.galleries.store import DEFAULT_GALLERY


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("match", help="top-k lookalikes for every face in images or folders")
    p.add_argument("images", nargs="*", type=Path)
    p.add_argument("--per-person", type=Path, metavar="DIR",
                   help="DIR/<person>/* photos: each person's photos checked to show one "
                        "person and combined into one answer (a line each)")
    p.add_argument("--gallery", default=DEFAULT_GALLERY)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--actors-only", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    p.add_argument("--sheet", type=Path, metavar="DIR",
                   help="also draw each photo's faces beside their lookalikes: DIR/STEM.jpg")
    p.set_defaults(run=run_match)


def run_match(args: argparse.Namespace) -> int:
    from ml.faces.embedding import get_embedder
    from ml.galleries.prepare import ensure_default_gallery
    from ml.galleries.profile import steady_embed
    from ml.galleries.store import Gallery, no_close_match
    from ml.progress import TqdmProgress

    if args.k < 1:
        raise CliError("--k must be at least 1")
    if args.per_person and args.images:
        raise CliError("give images or --per-person DIR, not both")
    images = expand_images(args.images)
    if not images and not args.per_person:
        raise CliError("no images given (folders were empty)")
    if args.per_person and not args.per_person.is_dir():
        raise CliError(f"{args.per_person}: not a folder of <person>/ folders")
    if args.gallery == DEFAULT_GALLERY:
        progress = TqdmProgress()
        try:
            gallery = ensure_default_gallery(progress)
        finally:
            progress.close()
    else:
        gallery = Gallery.open(args.gallery)
    if args.per_person:
        return run_per_person(args, gallery)
    finder = get_embedder(gallery.embedder)
    each = EachImage(images, json_errors=args.json)
    for path, image in each:
        faces = finder.detect(image)  # a gallery of drawings: drawn faces
        found = gallery.lookalikes(steady_embed(image, faces, gallery.embedder), args.k,
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


def run_per_person(args: argparse.Namespace, gallery) -> int:
    """``--per-person DIR``: each ``DIR/<person>/`` folder's photos checked to show one person,
    combined into one profile, answered with one lookalike list (a line each)."""
    from ml.errors import LookalikeError
    from ml.galleries.firmness import lookalikes_with_firmness
    from ml.galleries.profile import person_profile
    from ml.galleries.store import no_close_match

    folder = args.per_person
    people = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not people:
        raise CliError(f"{folder}: no person folders in it (lay photos out as "
                       f"{folder}/<person>/*.jpg)")
    failed = 0
    for person in people:
        photos = expand_images([person])
        line: dict = {"person": person.name, "photos": len(photos)}
        try:
            if not photos:
                raise CliError("no photos in the folder")
            profile = person_profile(photos, gallery.embedder)
            found, firm = lookalikes_with_firmness(gallery, profile.vector, args.k,
                                                   args.actors_only, profile.photos)
        except LookalikeError as exc:
            failed += 1
            print(f"lookalike: error: {person.name}: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({**line, "error": str(exc)}))
            continue
        matches = found[0]
        if args.json:
            print(json.dumps({**line, "no_close_match": no_close_match(matches),
                              "lookalikes": [m.to_dict() for m in matches],
                              "firmness": firm[0].to_dict() if firm[0] else None}))
            continue
        print(f"{person.name}: {len(photos)} photo(s), one answer")
        for rank, m in enumerate(matches, 1):
            actor = "  actor" if m.actor else ""
            print(f"    {rank}. {m.name:<28} {m.similarity:5.1f}%{actor}")
        if firm[0]:
            print(f"  {firm[0].text}")
    return 2 if failed else 0

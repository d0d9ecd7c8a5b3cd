"""``lookalike reid``: people recognised by their bodies (clothes, build), not their faces."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.cli.common import CliError, expand_images


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("reid", help="rank the people of a gallery of person crops for "
                            "each query crop, by body appearance")
    p.add_argument("--gallery", type=Path, required=True, metavar="DIR",
                   help="DIR/<person>/*: crops of each person (the whole body, upright)")
    p.add_argument("--query", type=Path, required=True, metavar="DIR",
                   help="crops to recognise (a folder, searched recursively)")
    p.add_argument("--json", action="store_true",
                   help="one JSON line per query: {\"image\", \"ranking\": [person, ...]}")
    p.add_argument("--weights", type=Path, help="a checkpoint other than the shipped one")
    p.set_defaults(run=run_reid)


def people_crops(folder: Path) -> tuple[list[Path], list[str]]:
    """Every crop under ``folder/<person>/``, with its person's folder name."""
    if not folder.is_dir():
        raise CliError(f"{folder}: not a folder of <person>/ folders")
    paths, people = [], []
    for person in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in expand_images([person]):
            paths.append(path)
            people.append(person.name)
    if not paths:
        raise CliError(f"{folder}: no crops in <person>/ folders")
    return paths, people


def run_reid(args: argparse.Namespace) -> None:
    from ml.bodies.embedding import embed_bodies, rank_people
    from ml.errors import ImageError

    if args.weights is not None and not args.weights.is_file():
        raise CliError(f"--weights: no such file: {args.weights}")
    gallery, people = people_crops(args.gallery)
    if not args.query.is_dir() and not args.query.is_file():
        raise CliError(f"{args.query}: no such file or folder")
    queries = expand_images([args.query])
    if not queries:
        raise CliError(f"{args.query}: no images in it")
    weights = str(args.weights) if args.weights else None
    try:
        rankings = rank_people(embed_bodies(queries, weights), embed_bodies(gallery, weights),
                               people)
    except ImageError as exc:
        raise CliError(str(exc)) from None
    for path, ranking in zip(queries, rankings, strict=True):
        if args.json:
            print(json.dumps({"image": str(path), "ranking": [name for name, _ in ranking],
                              "similarity": [round(s, 4) for _, s in ranking]}))
        else:
            top = ", ".join(f"{name} {s:.2f}" for name, s in ranking[:5])
            print(f"{path}: {top}")

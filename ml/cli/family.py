"""``lookalike family``: who does the child look like (what the family page shows), or the
kinship probability of each parent<TAB>child pair in a file, so anyone can measure the score on
a kinship set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import ml
from ml.cli.common import CliError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("family", help="who does the child look like: kinship, face and "
                                      "region likeness (the family page), or kinship per pair")
    p.add_argument("photos", nargs="*", type=Path, metavar="PHOTO",
                   help="the child's photo, then 1-5 relatives' photos")
    p.add_argument("--pairs", type=Path, metavar="PAIRS.tsv",
                   help="parent<TAB>child lines: one JSON line per pair with its kinship")
    p.add_argument("--json", action="store_true", help="print JSON (the default for --pairs)")
    p.set_defaults(run=run_family)


def run_family(args: argparse.Namespace) -> int:
    """``lookalike family CHILD RELATIVE...`` prints what the family page shows;
    ``lookalike family --pairs PAIRS.tsv`` one ``{"a", "b", "kinship"}`` line per pair."""
    from ml.family.resemblance import pair_kinship, photo_vectors, resemblance

    if args.pairs is not None:
        if args.photos:
            raise CliError("give either photos or --pairs, not both")
        if not args.pairs.is_file():
            raise CliError(f"{args.pairs}: no such file")
        pairs = []
        for number, line in enumerate(args.pairs.read_text().splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.rstrip("\r\n").split("\t")
            if len(cells) != 2 or not all(cells):
                raise CliError(f"{args.pairs}:{number}: expected parent<TAB>child")
            pairs.append((cells[0], cells[1]))
        if not pairs:
            raise CliError(f"{args.pairs}: no pairs")
        vectors: dict[str, np.ndarray | None] = {}
        failed = 0
        names = list(dict.fromkeys(p for pair in pairs for p in pair))
        for start in range(0, len(names), 64):
            chunk = names[start : start + 64]
            images = []
            for name in chunk:
                try:
                    images.append(ml.load_image(Path(name)))
                except (ml.ImageError, OSError) as exc:  # that pair's kinship is null
                    print(f"lookalike: error: {exc}", file=sys.stderr)
                    images.append(None)
                    failed += 1
            found = photo_vectors([i for i in images if i is not None])
            it = iter(found)
            for name, image in zip(chunk, images, strict=True):
                vectors[name] = None if image is None else next(it)
        scores = pair_kinship([(vectors[a], vectors[b]) for a, b in pairs])
        for (a, b), p in zip(pairs, scores, strict=True):
            print(json.dumps({"a": a, "b": b, "kinship": p}))
        return 2 if failed else 0
    if not 2 <= len(args.photos) <= 6:
        raise CliError(f"give the child's photo and 1 to 5 relatives' photos "
                       f"(got {len(args.photos)} photos)")
    names = [str(p) for p in args.photos]
    if len(set(names)) != len(names):
        raise CliError("each photo may be given once")
    people, missing = [], []
    for path in args.photos:
        image = ml.load_image(path)
        face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
        if face is None:
            missing.append(str(path))
        else:
            people.append((str(path), image, face))
    if len(people) < 2 or missing[:1] == [names[0]]:
        raise CliError("no face found in " + ", ".join(missing))
    found = resemblance([n for n, _, _ in people], [i for _, i, _ in people],
                        [f for _, _, f in people], args.embedder)
    report = {**found.to_dict(), "missing": missing}
    if args.json:
        print(json.dumps(report))
        return 0
    print(report["verdict"])
    child = report["names"][0]
    for name, p in report["kinship"]["scores"].items():
        j = report["names"].index(name)
        regions = ", ".join(f"{r} {report['regions'][r]['scores'][name]:.0f}%"
                            for r in report["regions"])
        print(f"{child} ~ {name}: kinship {100 * p:.0f}%, face {report['matrix'][0][j]:.0f}%, "
              f"{regions}")
    if missing:
        print("no face found (left out): " + ", ".join(missing))
    print(report["kinship"]["about"])
    return 0

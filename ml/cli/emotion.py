"""``lookalike emotion IMAGE...`` (each face's expression) and ``lookalike emotion evaluate
DIR`` (accuracy on labelled face crops)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import ml
from ml.cli.common import CliError, EachImage, default_subcommand


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "emotion", help="expression of each face: IMAGE..., or evaluate DIR",
        description="lookalike emotion IMAGE... is lookalike emotion classify IMAGE...")
    sub = group.add_subparsers(title="emotion commands")
    default_subcommand(group, "classify")

    p = sub.add_parser("classify", help="each face's expression with probabilities (the "
                       "default: lookalike emotion IMAGE...)")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    p.set_defaults(run=run_classify)

    p = sub.add_parser("evaluate", help="accuracy on DIR/<class>/*.png face crops")
    p.add_argument("folder", type=Path, metavar="DIR")
    p.set_defaults(run=run_evaluate)


def run_classify(args: argparse.Namespace) -> int:
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


def run_evaluate(args: argparse.Namespace) -> int:
    from ml.emotion.evaluate import read_labelled_crops
    from ml.emotion.model import CLASSES, predict_crops

    folder = args.folder
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

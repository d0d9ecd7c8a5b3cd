"""What the command groups share: the user-facing error, reading images one by one, folders
expanded to images, a gallery's build report, and implicit subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import ml
from ml.errors import LookalikeError
from ml.galleries.build import IMAGE_SUFFIXES

Image = np.ndarray


class CliError(LookalikeError):
    """A user-facing failure found by the command itself: printed as one line, exit code 2."""


def default_subcommand(group: argparse.ArgumentParser, name: str) -> None:
    """Run subcommand ``name`` when the word after the group is none of its subcommands:
    ``lookalike emotion a.jpg`` is ``lookalike emotion classify a.jpg``."""
    group.set_defaults(_default_subcommand=name)


def with_default_subcommands(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` with a group's implicit subcommand spelled out (see ``default_subcommand``)."""
    commands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                    None)
    if commands is None:
        return argv
    for i, word in enumerate(argv):
        if word.startswith("-"):
            continue
        if i and argv[i - 1] in ("--embedder",):  # the value of a global option
            continue
        group = commands.choices.get(word)
        if group is None:
            return argv
        default = group.get_default("_default_subcommand")
        subcommands = next((a.choices for a in group._actions
                            if isinstance(a, argparse._SubParsersAction)), {})
        rest = argv[i + 1:]
        if default and not (rest and (rest[0] in subcommands or rest[0] in ("-h", "--help"))):
            return [*argv[:i + 1], default, *rest]
        return argv
    return argv


class EachImage:
    """Load each image in turn; an unreadable one is reported (one line) and the rest go on."""

    def __init__(self, paths: list[Path], json_errors: bool = False) -> None:
        self.paths, self.json_errors, self.failed = paths, json_errors, 0

    def __iter__(self) -> Iterator[tuple[Path, Image]]:
        for path in self.paths:
            try:
                image = ml.load_image(path)
            except ml.ImageError as exc:
                self.failed += 1
                if self.json_errors:
                    print(json.dumps({"image": str(path), "error": str(exc)}))
                print(f"lookalike: error: {exc}", file=sys.stderr)
                continue
            yield path, image

    @property
    def exit_code(self) -> int:
        return 2 if self.failed else 0


def expand_images(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the images inside them (recursively, sorted)."""
    out = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*")
                              if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return out


def print_report(name: str, report: dict) -> None:
    """A gallery build's report: counts, then what was skipped or merged and why."""
    print(f"gallery '{name}': {report['faces']} faces of {report['identities']} people "
          f"from {report['photos']} photos")
    for key, label in (("empty", "empty folder"), ("no_face", "no face found"),
                       ("unreadable", "unreadable"),
                       ("ambiguous", "ambiguous (several faces)"),
                       ("merged", "one person under two names, merged")):
        items = report.get(key, [])
        if not items:
            continue
        if key == "merged":  # every merge: few, and a user should see each one
            print(f"  {label}: {len(items)}: {'; '.join(items)}")
            continue
        more = f"; ... ({len(items) - 3} more)" if len(items) > 3 else ""
        shown = "; ".join(items[:3]) + more
        print(f"  skipped, {label}: {len(items)}: {shown}" if key != "ambiguous"
              else f"  {label}, kept the likeliest face: {len(items)}: {shown}")

"""``lookalike setup``: fetch, verify and convert the model weights (once)."""

from __future__ import annotations

import argparse

from ml.cli.common import CliError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("setup", help="download, verify and convert model weights (once)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.set_defaults(run=run_setup)


def run_setup(args: argparse.Namespace) -> None:
    from ml.weights import fetch_dlib_resnet

    try:
        fetch_dlib_resnet(force=args.force)
    except OSError as exc:  # network errors: requests' exceptions are OSErrors
        raise CliError(f"could not fetch weights: {exc}") from exc

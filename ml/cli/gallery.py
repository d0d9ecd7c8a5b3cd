"""``lookalike gallery build|add|remove|list|info``: galleries of labelled faces."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.cli.common import CliError, print_report
from ml.galleries.store import DEFAULT_GALLERY


def register(commands: argparse._SubParsersAction) -> None:
    gallery = commands.add_parser("gallery", help="build and manage galleries of labelled faces")
    sub = gallery.add_subparsers(title="gallery commands", required=True)

    p = sub.add_parser("build", help="build NAME from Person_Name/*.jpg folders or .tgz archives")
    p.add_argument("name")
    p.add_argument("--from", dest="sources", nargs="+", type=Path,
                   help=f"folders or archives (default for '{DEFAULT_GALLERY}': LFW + CFP + "
                   "Bollywood from the data directory)")
    p.add_argument("--actors", type=Path, help="file of actor names, one per line")
    p.add_argument("--owner", metavar="USER",
                   help="the web account it belongs to (stored as USER@NAME; without it the "
                   "gallery is the server's, seen on the web by the admin alone)")
    p.add_argument("--drawn", action="store_true",
                   help="the photos are drawings (anime, cartoons, sketches): drawn faces are "
                   "found and told apart by their colours (docs/drawn.md); match and identify "
                   "then find faces the same way")
    p.set_defaults(run=run_build)

    p = sub.add_parser("add", help="add photos (Person_Name/*.jpg folders) to NAME")
    p.add_argument("name")
    p.add_argument("--from", dest="sources", nargs="+", type=Path, required=True)
    p.set_defaults(run=run_add)

    p = sub.add_parser("remove", help="remove people from NAME")
    p.add_argument("name")
    p.add_argument("people", nargs="+")
    p.set_defaults(run=run_remove)

    p = sub.add_parser("list", help="list galleries")
    p.set_defaults(run=run_list)

    p = sub.add_parser("info", help="what a gallery holds, and its build report")
    p.add_argument("name", nargs="?", default=DEFAULT_GALLERY)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_info)


def say_if_waiting(name: str) -> None:
    """Another writer (a web edit, another command) holds the gallery: we wait for it, and say
    so rather than hang in silence."""
    from ml.files import is_locked
    from ml.galleries.store import lock_path

    if is_locked(lock_path(name)):
        print(f"lookalike: gallery '{name}' is being changed by another process: waiting for it",
              file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> None:
    from ml.galleries.build import build
    from ml.galleries.ranking import KNOWN_MIN_PHOTOS
    from ml.galleries.store import default_sources, owned_name
    from ml.progress import TqdmProgress

    args.name = owned_name(args.owner, args.name)
    if args.drawn:
        if args.embedder not in (None, "drawn"):
            raise CliError(f"--drawn builds with the drawn embedder, not '{args.embedder}'")
        args.embedder = "drawn"
    sources, actors, known_min_photos = args.sources, args.actors, 0
    if not sources:
        if args.name != DEFAULT_GALLERY:
            raise CliError("--from DIR is required (folders of Person_Name/*.jpg)")
        sources, default_actors = default_sources()
        actors, known_min_photos = actors or default_actors, KNOWN_MIN_PHOTOS
    say_if_waiting(args.name)
    progress = TqdmProgress()
    try:
        data = build(args.name, sources, actors, args.embedder, progress, known_min_photos)
    except KeyboardInterrupt:
        progress.close()
        raise CliError(f"interrupted: gallery '{args.name}' left as it was") from None
    progress.close()
    print_report(args.name, data.report)


def run_add(args: argparse.Namespace) -> None:
    from ml.galleries.build import add
    from ml.progress import TqdmProgress

    say_if_waiting(args.name)
    progress = TqdmProgress()
    data = add(args.name, args.sources, progress)
    progress.close()
    print_report(args.name, data.report)


def run_remove(args: argparse.Namespace) -> None:
    from ml.galleries.write import remove

    say_if_waiting(args.name)
    removed = remove(args.name, args.people)
    print(f"removed from '{args.name}': {', '.join(removed)}")


def run_list(args: argparse.Namespace) -> None:
    from ml.galleries.store import Gallery, list_galleries

    for name in list_galleries():
        info = Gallery.open(name).info()
        print(f"{name}\t{info['identities']} people\t{info['faces']} faces\t{info['embedder']}")


def run_info(args: argparse.Namespace) -> None:
    from ml.galleries.store import Gallery

    info = Gallery.open(args.name).info()
    if args.json:
        print(json.dumps(info, indent=1))
        return
    print(f"{info['name']}: {info['identities']} people ({info['actors']} actors), "
          f"{info['faces']} faces, embedder {info['embedder']}, built {info['built']}")
    print("sources: " + ", ".join(info["sources"]))
    print_report(args.name, info["report"])

"""``lookalike faces``, ``compare`` and ``verify``: find faces, compare two, score labelled
pairs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import ml
from ml.cli.common import CliError, EachImage
from ml.faces.verify import calibration, roc_auc


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("faces", help="detect faces; print them as JSON")
    p.add_argument("images", nargs="+", type=Path)
    p.set_defaults(run=run_faces)

    p = commands.add_parser("compare", help="are the main faces of two photos the same person?")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_compare)

    p = commands.add_parser("verify",
                            help="accuracy over PAIRS.tsv lines: path_a<TAB>path_b<TAB>1|0")
    p.add_argument("pairs", type=Path)
    p.add_argument("--verbose", "-v", action="store_true", help="print every pair's result")
    p.set_defaults(run=run_verify)


def run_faces(args: argparse.Namespace) -> int:
    images = EachImage(args.images, json_errors=True)
    for path, image in images:
        faces = ml.detect(image)
        print(json.dumps({"image": str(path), "faces": [f.to_dict() for f in faces]}))
    return images.exit_code


def main_face_embedding(path: Path, embedder: str | None) -> ml.Embeddings | None:
    """The embedding of the photo's main face, or None when it has no face."""
    image = ml.load_image(path)
    face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
    return None if face is None else ml.embed(image, [face], embedder)


def run_compare(args: argparse.Namespace) -> int:
    a, b = (main_face_embedding(p, args.embedder) for p in (args.a, args.b))
    for path, emb in ((args.a, a), (args.b, b)):
        if emb is None:
            raise CliError(f"{path}: no face found")
    result = ml.compare(a, b)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        verdict = "same person" if result.same_person else "different people"
        print(f"distance={result.distance:.4f} {verdict} similarity={result.similarity:.1f}%")
    return 0


def read_pairs_tsv(path: Path) -> list[tuple[Path, Path, bool]]:
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[2].strip() not in ("0", "1"):
            raise CliError(f"{path}:{number}: expected path_a<TAB>path_b<TAB>1|0, got {line!r}")
        a, b = (_resolve(Path(p), path.parent) for p in parts[:2])
        pairs.append((a, b, parts[2].strip() == "1"))
    if not pairs:
        raise CliError(f"{path}: no pairs")
    return pairs


def _resolve(path: Path, base: Path) -> Path:
    """Paths in a pairs file are taken as given, else relative to the file's folder."""
    return path if path.is_absolute() or path.exists() else base / path


def run_verify(args: argparse.Namespace) -> int:
    from ml.faces.pipeline import main_face_vectors
    from ml.galleries.build import SourcePhoto
    from ml.progress import TqdmProgress

    pairs = read_pairs_tsv(args.pairs)
    embedder = args.embedder or ml.faces.embedding.default_embedder_name()
    threshold = calibration(embedder)["threshold"]
    unique = sorted({p for a, b, _ in pairs for p in (a, b)})
    photos = [SourcePhoto(p.parent.name, str(p), p.read_bytes) for p in unique]
    vectors: dict[Path, np.ndarray | None] = {}
    for path, found in zip(unique, main_face_vectors(photos, embedder, TqdmProgress()),
                           strict=True):
        if isinstance(found, str):
            print(f"unreadable (counted wrong): {path}: {found}", file=sys.stderr)
        elif found is None:
            print(f"no face found (counted wrong): {path}", file=sys.stderr)
        vectors[path] = found if isinstance(found, np.ndarray) else None
    dist = np.array([
        np.linalg.norm(vectors[a] - vectors[b])
        if vectors[a] is not None and vectors[b] is not None else np.inf
        for a, b, _ in pairs
    ])
    same = np.array([s for *_, s in pairs])
    found = np.isfinite(dist)
    correct = found & ((dist < threshold) == same)
    if args.verbose:
        for (a, b, s), d, ok in zip(pairs, dist, correct, strict=True):
            print(f"{a}\t{b}\t{int(s)}\tdistance={d:.4f}\t{'ok' if ok else 'WRONG'}")
    missing = int((~found).sum())
    if missing:
        print(f"{missing} pair(s) without a face in both photos counted as wrong", file=sys.stderr)
    both_classes = same.any() and (~same).any()
    auc = roc_auc(np.where(found, dist, 4.0), same) if both_classes else float("nan")
    print(f"accuracy={correct.mean():.4f} auc={auc:.4f} pairs={len(pairs)}")
    return 0

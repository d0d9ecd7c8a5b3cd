"""One person, one identity: where mean faces of one person and of two people lie across sources.

    .venv/bin/python -m bench.same_people      # = make bench-same-people

The default gallery merges LFW, CFP and Bollywood. 175 people are in both LFW and CFP under the
same folder name: the distance between their LFW mean face and their CFP mean face is what
"one person in two sources" looks like. Pairs of different people whose names are close
(``ml.galleries.build.names_close``) are what a merge must never join. The rule's distance,
``SAME_PERSON_CENTROID_DISTANCE``, sits between the two; the merges it makes in the real build
are listed.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.report import machine, write_section
from ml.faces.pipeline import main_face_vectors
from ml.galleries.build import (
    GALLERY_MIN_FACE,
    SAME_PERSON_CENTROID_DISTANCE,
    names_close,
    same_people,
    scan_sources,
)
from ml.galleries.store import Identity, default_sources, person_key
from ml.progress import TqdmProgress


def centroid(vectors: list[np.ndarray]) -> np.ndarray:
    mean = np.mean(vectors, axis=0)
    return mean / np.linalg.norm(mean)


def main() -> None:
    sources, _ = default_sources()
    photos, _ = scan_sources(sources)
    vectors = main_face_vectors(photos, progress=TqdmProgress(), min_face=GALLERY_MIN_FACE)
    by_source: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    for photo, vector in zip(photos, vectors, strict=True):
        if isinstance(vector, np.ndarray):
            by_source[(person_key(photo.person), photo.collection)].append(vector)
    lfw, cfp = (str(s) for s in sources[:2])
    both = sorted({k for k, c in by_source if c == lfw} & {k for k, c in by_source if c == cfp})
    same = np.array([np.linalg.norm(centroid(by_source[(k, lfw)]) - centroid(by_source[(k, cfp)]))
                     for k in both])

    people = sorted({k for k, _ in by_source})
    means = {k: centroid([v for (key, _), vs in by_source.items() if key == k for v in vs])
             for k in people}
    by_surname: dict[str, list[str]] = defaultdict(list)
    for k in people:
        by_surname[k.split("_")[-1]].append(k)
    close = [(float(np.linalg.norm(means[a] - means[b])), a, b)
             for group in by_surname.values() for i, a in enumerate(group) for b in group[i + 1 :]
             if names_close(a, b)]
    different = np.array([d for d, _, _ in close])

    rows = [(key, vector, photo.collection) for photo, vector in zip(photos, vectors, strict=True)
            if isinstance(vector, np.ndarray) for key in [person_key(photo.person)]]
    origins: dict[str, set[str]] = defaultdict(set)
    for key, _, collection in rows:
        origins[key].add(collection)
    counts = defaultdict(int)
    for key, *_ in rows:
        counts[key] += 1
    identities = {k: Identity(k, k, False, counts[k]) for k in people}
    merges = same_people(identities, [(k, v) for k, v, _ in rows], origins)

    limit = SAME_PERSON_CENTROID_DISTANCE

    def spread(d: np.ndarray) -> str:
        q = np.percentile(d, [0, 5, 50, 95, 100])
        return " / ".join(f"{x:.3f}" for x in q)

    lines = [
        "## One person, one identity (gallery merges across sources)",
        "",
        f"`.venv/bin/python -m bench.same_people` on {machine()}. Distance between mean faces "
        "(min / 5% / median / 95% / max):",
        "",
        "| pairs | count | distance |",
        "|---|---|---|",
        f"| one person: LFW mean face vs CFP mean face (same folder name) | {len(same)} "
        f"| {spread(same)} |",
        f"| two folder names with the same surname and first initial (nearly all two people; "
        f"the merges below are the exceptions) | {len(different)} | {spread(different)} |",
        "",
        f"Merge rule: close names and mean faces nearer than {limit} (`ml/galleries/build.py`). "
        f"One-person pairs above it: {(same >= limit).sum()} of {len(same)}; close-name pairs "
        f"below it: {(different < limit).sum()} of {len(different)}. Merges in the default "
        f"gallery ({len(merges)}):",
        "",
    ]
    lines += [f"- {a} -> {b}" for a, b in sorted(merges.items())] or ["- none"]
    kept = sorted((d, a, b) for d, a, b in close
                  if d < limit + 0.06 and merges.get(a) != b and merges.get(b) != a)
    lines += ["", f"Close names under {limit + 0.06:.2f} left apart (above the limit, or both in "
              "one source):", ""]
    lines += [f"- {a} / {b}: {d:.3f} ({', '.join(sorted(Path(o).name for o in origins[a]))} / "
              f"{', '.join(sorted(Path(o).name for o in origins[b]))})" for d, a, b in kept]
    print("\n".join(lines))
    write_section("same-people", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Who is who: label every face with a gallery person, or "unknown".

A lookalike search always answers with *somebody*; identification must be able to say "nobody
I know". A face is named after its nearest gallery identity only when (1) the distance is
within ``distance`` and (2) the nearest identity is at least ``margin`` closer than the next
one (a stranger tends to sit at a similar distance from several people). The pair is
measured per embedder on CFP by ``bench/kshot.py`` (open-set table in ``docs/benchmarks.md``;
why in ``docs/calibration.md``). An embedder without a measured pair falls back to its LFW
same-person threshold and no margin. Used by ``lookalike identify`` and by screen time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.faces.detection import Face
from ml.faces.embedding import Embeddings, embed, get_embedder
from ml.faces.verify import calibration
from ml.galleries.store import Gallery
from ml.images import ImageInput, load_image

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Identification:
    box: tuple[float, float, float, float]
    name: str  # a gallery person's name, or "unknown"
    similarity: float  # percent, to the nearest gallery person (even when unknown)
    nearest: str | None  # the nearest gallery person, whatever the distance

    @property
    def known(self) -> bool:
        return self.name != UNKNOWN

    def to_dict(self) -> dict:
        return {"box": [round(v, 1) for v in self.box], "name": self.name,
                "known": self.known, "similarity": round(self.similarity, 1),
                "nearest": self.nearest}


# embedder -> (distance, margin). dlib: chosen by bench/kshot.py's fit_open_set on half of CFP's
# people (galleries of 50, 4 photos a person: the most people named with at most 5% of strangers
# named). drawn: by bench/domains.py's fit_drawn_open_set on the development characters (1-shot
# galleries of 6, 6 strangers: the most drawings named right with at most 10% named wrongly).
OPEN_SET = {"dlib": (0.36, 0.0), "drawn": (0.72, 0.08)}


@dataclass(frozen=True)
class OpenSetRule:
    distance: float  # the nearest person must be at most this far
    margin: float  # ... and this much nearer than the next person

    def accepts(self, nearest: float, runner_up: float | None) -> bool:
        return nearest <= self.distance and (runner_up is None
                                             or runner_up - nearest >= self.margin)


def open_set_rule(embedder: str) -> OpenSetRule:
    if embedder in OPEN_SET:
        return OpenSetRule(*OPEN_SET[embedder])
    return OpenSetRule(float(calibration(embedder)["threshold"]), 0.0)


def label(gallery: Gallery, embeddings: Embeddings) -> list[tuple[str, float, str | None]]:
    """(name or "unknown", similarity %, nearest name) for each embedding."""
    rule = open_set_rule(gallery.embedder)
    out = []
    for best in gallery.nearest_people(embeddings, k=2):
        if not best:
            out.append((UNKNOWN, 0.0, None))
            continue
        top = best[0]
        known = rule.accepts(top.distance, best[1].distance if len(best) > 1 else None)
        out.append((top.name if known else UNKNOWN, top.similarity, top.name))
    return out


def identify(image: ImageInput, gallery: Gallery,
             faces: list[Face] | None = None) -> list[Identification]:
    """Every face in ``image`` (found the way the gallery's embedder finds them: drawn faces in a
    gallery of drawings) labelled with a person of ``gallery`` or ``unknown``."""
    array = load_image(image)
    faces = get_embedder(gallery.embedder).detect(array) if faces is None else faces
    labels = label(gallery, embed(array, faces, gallery.embedder))
    return [Identification(face.box, name, sim, nearest)
            for face, (name, sim, nearest) in zip(faces, labels, strict=True)]

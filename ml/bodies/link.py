"""From faces to bodies: people named by their face lend that name to their body, so the same
person is recognised where no face is seen (turned away, too far, hidden), in the same set of
stills (``name_faceless``) or the same video (``ml.video.screentime``). The coarse answer comes
from faces (the gallery); the body only chooses among the people already named in this set.
A body that matches nobody well enough stays "unknown"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.bodies.detection import Box, Person, crop, find_people, owner
from ml.bodies.embedding import embed_bodies
from ml.galleries.identify import UNKNOWN, Identification

# A body is given a name when its most similar named body (cosine of the body embeddings) is at
# least BODY_MATCH and at least BODY_MARGIN above the next name's: chosen by bench/reid.py's
# fit_body_link on development turn-away clips (clothing-co-parsing training photos: the most
# faceless bodies named right with at most 5% named wrongly), never on the clips it reports.
BODY_MATCH = 0.58
BODY_MARGIN = 0.09


@dataclass(frozen=True)
class BodyName:
    name: str  # a named person, or "unknown"
    nearest: str  # the most similar named person, even when too far to be named
    similarity: float  # cosine to that person's most similar body
    margin: float  # how much more similar than the next person's bodies (1 when none)


def lend_names(queries: np.ndarray, named: np.ndarray, names: list[str],
               match: float = BODY_MATCH, margin: float = BODY_MARGIN) -> list[BodyName]:
    """For each query body vector: the named person whose bodies it matches, or unknown."""
    if len(named) == 0 or len(queries) == 0:
        return [BodyName(UNKNOWN, UNKNOWN, 0.0, 0.0) for _ in range(len(queries))]
    people = sorted(set(names))
    index = np.array([people.index(n) for n in names])
    sims = queries @ named.T
    best = np.stack([sims[:, index == k].max(axis=1) for k in range(len(people))], axis=1)
    order = np.argsort(-best, axis=1)
    out = []
    for row, ranked in zip(best, order, strict=True):
        top = float(row[ranked[0]])
        gap = top - float(row[ranked[1]]) if len(ranked) > 1 else 1.0
        ok = top >= match and gap >= margin
        out.append(BodyName(people[ranked[0]] if ok else UNKNOWN, people[ranked[0]], top, gap))
    return out


def bodies_in(image: np.ndarray, faces: list[Box]
              ) -> tuple[list[Person], np.ndarray, dict[int, int]]:
    """The people in ``image`` (boxes split by ``faces``), their body vectors, and which face
    each holds (face index → person index)."""
    people = find_people(image, faces)
    vectors = embed_bodies([crop(image, p.box) for p in people]) if people else np.zeros((0, 1))
    return people, vectors, faces_to_people(faces, people)


def faces_to_people(faces: list[Box], people: list[Person]) -> dict[int, int]:
    """face index → the person box that holds it (at most one face a person: the first found
    keeps it)."""
    held: dict[int, int] = {}
    for i, face in enumerate(faces):
        k = owner(face, people)
        if k is not None and k not in held.values():
            held[i] = k
    return held


@dataclass(frozen=True)
class FacelessPerson:
    """A person in a still whose face is not seen (or too small to find), named by their body
    from the people named by face in the other stills, or unknown."""

    box: Box
    name: str
    similarity: float  # percent: body cosine to the nearest named body
    nearest: str | None

    @property
    def known(self) -> bool:
        return self.name != UNKNOWN

    def to_dict(self) -> dict:
        return {"box": [round(v, 1) for v in self.box], "name": self.name, "known": self.known,
                "similarity": round(self.similarity, 1), "nearest": self.nearest,
                "by": "body"}


def name_faceless(stills: list[np.ndarray],
                  faces: list[list[Identification]]) -> list[list[FacelessPerson]]:
    """For each still (one film's, say): its people whose face is not seen, each named by the
    bodies of the people named by face in the *other* stills (never a name already on a face in
    the same still), or unknown."""
    named_vectors, named_names, named_still = [], [], []
    faceless: list[list[tuple[Person, np.ndarray]]] = []
    for s, (still, found) in enumerate(zip(stills, faces, strict=True)):
        people, vectors, held = bodies_in(still, [f.box for f in found])
        for f, k in held.items():
            if found[f].known:
                named_vectors.append(vectors[k])
                named_names.append(found[f].name)
                named_still.append(s)
        faceless.append([(p, vectors[k]) for k, p in enumerate(people)
                         if k not in held.values()])
    out = []
    for s, people in enumerate(faceless):
        here = {f.name for f in faces[s] if f.known}
        rows = [i for i, (name, still) in enumerate(zip(named_names, named_still, strict=True))
                if still != s and name not in here]
        named = np.stack([named_vectors[i] for i in rows]) if rows else np.zeros((0, 1))
        found = lend_names(np.stack([v for _, v in people]) if people else np.zeros((0, 1)),
                           named, [named_names[i] for i in rows])
        out.append([FacelessPerson(p.box, b.name, 100 * b.similarity,
                                   None if b.nearest == UNKNOWN else b.nearest)
                    for (p, _), b in zip(people, found, strict=True)])
    return out

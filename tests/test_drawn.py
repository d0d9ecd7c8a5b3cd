"""Drawn mode finds drawn faces and tells drawn characters apart; sketches find their person.

Drawings here are synthesised (flat-filled cartoon faces, pencil sketches of LFW photos): no
fetched drawing is needed.
"""

from __future__ import annotations

import json
import uuid

import cv2
import numpy as np
import pytest

import ml
from ml.faces import drawn
from ml.faces.embedding import embed, get_embedder
from ml.faces.sketch import MIN_FOR_MEAN, sketch_means, sketch_photo_similarity
from ml.galleries.store import delete_gallery
from tests.support import BLACK, BLUE, PINK, RED, cartoon, lfw, lookalike


def test_drawn_mode_finds_the_face_of_a_drawn_crop():
    found = drawn.find_drawn_faces([cartoon(PINK, BLUE)])[0]
    assert found
    x1, y1, x2, y2 = found[0].box
    assert x1 < 128 < x2 and y1 < 140 < y2  # around the drawn face


def test_drawn_mode_finds_no_face_in_blank_noise_or_a_banner():
    assert drawn.find_drawn_faces([np.full((256, 256, 3), 200, np.uint8)])[0] == []
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    assert drawn.find_drawn_faces([noise])[0] == []
    banner = np.full((120, 600, 3), 90, np.uint8)
    cv2.putText(banner, "no face here", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (250, 250, 0), 4)
    assert drawn.find_drawn_faces([banner])[0] == []


def test_photo_mode_is_not_changed_by_drawn_mode():
    """The default detector still answers "no face" on noise after drawn mode has run."""
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    drawn.find_drawn_faces([cartoon(PINK, BLUE)])
    assert ml.detect(noise) == []


def test_one_drawing_each_tells_two_characters_apart():
    """The ``drawn`` embedder (what drawn galleries are made of): a new drawing of each
    character is nearest the one drawing enrolled of them."""
    drawn_embedder = get_embedder("drawn")
    enrolled = {"pink": cartoon(PINK, BLUE), "dark": cartoon(BLACK, RED)}
    vectors = {name: embed(image, drawn_embedder.detect(image), "drawn").vectors[0]
               for name, image in enrolled.items()}
    for name, hair, eyes in (("pink", PINK, BLUE), ("dark", BLACK, RED)):
        new = cartoon(hair, eyes, background=(250, 245, 225), shift=12, scale=0.9)
        face = drawn_embedder.detect(new)[0]
        v = embed(new, [face], "drawn").vectors[0]
        assert np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)
        assert np.allclose(v, drawn.drawn_vector(new, face), atol=1e-6)
        best = max(vectors, key=lambda n: float(vectors[n] @ v))
        assert best == name


def pencil(path) -> np.ndarray:
    """A pencil sketch of a photo (grey, divided by its blurred negative: the dodge blend)."""
    grey = cv2.cvtColor(ml.load_image(path), cv2.COLOR_RGB2GRAY)
    blur = cv2.GaussianBlur(255 - grey, (21, 21), 0)
    sketch = cv2.divide(grey, 255 - blur, scale=256)
    return cv2.cvtColor(sketch, cv2.COLOR_GRAY2RGB)


def main_face(image: np.ndarray) -> ml.Face:
    face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
    assert face is not None
    return face


def test_learnt_sketch_means_are_shipped():
    means = sketch_means()
    assert means["sketch"].shape == means["photo"].shape == (128,)
    assert float(np.linalg.norm(means["sketch"] - means["photo"])) > 0.1  # two domains apart


def test_pencil_sketches_find_their_person_among_photos():
    people = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez", "George_W_Bush",
              "Gerhard_Schroeder"]
    assert len(people) < MIN_FOR_MEAN  # few: the learnt means are used
    # A sketch is embedded at the face of the photo it was drawn from (same pixels).
    sketches = np.stack([ml.embed(pencil(lfw(p, 1)), [main_face(ml.load_image(lfw(p, 1)))])
                         .vectors[0] for p in people])
    photos = np.stack([ml.embed(lfw(p, 2), [main_face(ml.load_image(lfw(p, 2)))]).vectors[0]
                       for p in people])
    sims = sketch_photo_similarity(sketches, photos)
    assert sims.shape == (len(people), len(people))
    assert np.mean(sims.argmax(1) == np.arange(len(people))) >= 5 / 6


def write_drawing(path, image: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.mark.integration  # runs the CLI as a process
def test_a_gallery_of_drawings_through_the_cli(tmp_path):
    """`gallery build --drawn` makes a gallery from one drawing of each character; identify
    names a new drawing of each (found the drawn way: the gallery says how), match ranks the
    right character first, and an unrelated drawing is "unknown"."""
    characters = {"Pink_Hair": (PINK, BLUE), "Dark_Hair": (BLACK, RED)}
    for name, (hair, eyes) in characters.items():
        write_drawing(tmp_path / "enrol" / name / "first.png", cartoon(hair, eyes))
    new = {name: write_drawing(tmp_path / f"{name}.png", cartoon(hair, eyes, shift=12, scale=0.9))
           for name, (hair, eyes) in characters.items()}
    stranger = write_drawing(tmp_path / "stranger.png",
                             cartoon((250, 210, 60), (40, 160, 70), background=(40, 40, 60)))
    gallery = f"drawn-{uuid.uuid4().hex[:8]}"
    try:
        built = lookalike("gallery", "build", gallery, "--drawn", "--from",
                          str(tmp_path / "enrol"))
        assert built.returncode == 0, built.stderr
        info = json.loads(lookalike("gallery", "info", gallery, "--json").stdout)
        assert info["embedder"] == "drawn"
        named = lookalike("identify", "--gallery", gallery, "--json",
                          *map(str, [*new.values(), stranger]))
        assert named.returncode == 0, named.stderr
        answers = [json.loads(line)["faces"] for line in named.stdout.splitlines()]
        assert [[f["name"] for f in faces] for faces in answers] == [
            ["Pink Hair"], ["Dark Hair"], ["unknown"]]
        matched = lookalike("match", "--gallery", gallery, "--json", str(new["Dark_Hair"]))
        assert matched.returncode == 0, matched.stderr
        top = json.loads(matched.stdout)["faces"][0]["lookalikes"][0]
        assert top["name"] == "Dark Hair"
    finally:
        delete_gallery(gallery)

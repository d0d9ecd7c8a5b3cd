"""Drawn mode finds drawn faces and tells drawn characters apart; sketches find their person.

Drawings here are synthesised (flat-filled cartoon faces, pencil sketches of LFW photos): no
fetched drawing is needed.
"""

from __future__ import annotations

import cv2
import numpy as np

import ml
from ml.faces import drawn
from ml.faces.sketch import MIN_FOR_MEAN, sketch_means, sketch_photo_similarity
from tests.support import lfw


def cartoon(hair: tuple[int, int, int], eyes: tuple[int, int, int],
            background: tuple[int, int, int] = (235, 235, 240), shift: int = 0,
            scale: float = 1.0) -> np.ndarray:
    """A 256 px anime-style face crop: flat fills, big eyes, a fringe of hair."""
    image = np.full((256, 256, 3), background, np.uint8)
    cx, cy = 128 + shift, 140 + shift // 2

    def p(x: float, y: float) -> tuple[int, int]:
        return int(cx + x * scale), int(cy + y * scale)

    cv2.ellipse(image, p(0, -20), (int(105 * scale), int(115 * scale)), 0, 0, 360, hair, -1)
    cv2.ellipse(image, p(0, 10), (int(75 * scale), int(90 * scale)), 0, 0, 360,
                (252, 224, 205), -1)
    cv2.ellipse(image, p(0, -60), (int(85 * scale), int(40 * scale)), 0, 180, 360, hair, -1)
    for side in (-1, 1):
        cv2.ellipse(image, p(side * 32, 10), (int(16 * scale), int(22 * scale)), 0, 0, 360,
                    eyes, -1)
        cv2.circle(image, p(side * 32 - 5, 2), int(5 * scale), (255, 255, 255), -1)
        cv2.line(image, p(side * 32 - 18, -16), p(side * 32 + 18, -16), (60, 40, 40), 3)
    cv2.ellipse(image, p(0, 58), (int(12 * scale), int(5 * scale)), 0, 0, 180, (180, 60, 70), 2)
    return image


PINK, BLUE, BLACK, RED = (245, 150, 190), (60, 110, 230), (35, 30, 40), (200, 30, 40)


def test_drawn_mode_finds_the_face_of_a_drawn_crop():
    found = drawn.find_drawn_face(cartoon(PINK, BLUE))
    assert found is not None
    x1, y1, x2, y2 = found.face.box
    assert x1 < 128 < x2 and y1 < 140 < y2  # around the drawn face


def test_drawn_mode_finds_no_face_in_blank_noise_or_a_banner():
    assert drawn.find_drawn_face(np.full((256, 256, 3), 200, np.uint8)) is None
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    assert drawn.find_drawn_face(noise) is None
    banner = np.full((120, 600, 3), 90, np.uint8)
    cv2.putText(banner, "no face here", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (250, 250, 0), 4)
    assert drawn.find_drawn_face(banner) is None


def test_photo_mode_is_not_changed_by_drawn_mode():
    """The default detector still answers "no face" on noise after drawn mode has run."""
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    drawn.find_drawn_face(cartoon(PINK, BLUE))
    assert ml.detect(noise) == []


def test_one_drawing_each_tells_two_characters_apart():
    enrolled = {"pink": cartoon(PINK, BLUE), "dark": cartoon(BLACK, RED)}
    vectors = {name: drawn.drawn_vector(image, drawn.find_drawn_face(image))
               for name, image in enrolled.items()}
    for name, hair, eyes in (("pink", PINK, BLUE), ("dark", BLACK, RED)):
        new = cartoon(hair, eyes, background=(250, 245, 225), shift=12, scale=0.9)
        v = drawn.drawn_vector(new, drawn.find_drawn_face(new))
        assert np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)
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

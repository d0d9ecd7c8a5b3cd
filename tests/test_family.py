"""Family resemblance on real photos: region masks, the matrix, the verdict."""

from __future__ import annotations

import numpy as np
import pytest

import ml
from ml.family.resemblance import REGIONS, region_chips, resemblance
from tests.support import lfw


def main_face(path):
    image = ml.load_image(path)
    return image, ml.main_face(ml.detect(image), image.shape[1], image.shape[0])


def test_region_chips_keep_only_their_region():
    chip = np.random.default_rng(0).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    for name, masked in region_chips(chip).items():
        x1, y1, x2, y2 = REGIONS[name]
        assert np.array_equal(masked[y1:y2, x1:x2], chip[y1:y2, x1:x2])
        outside = masked.copy()
        outside[y1:y2, x1:x2] = 128
        assert (outside == 128).all()


def test_the_same_person_is_most_alike_whole_and_by_the_eyes():
    people = [main_face(lfw("Tony_Blair", 1)), main_face(lfw("Tony_Blair", 9)),
              main_face(lfw("Colin_Powell", 1)), main_face(lfw("Serena_Williams", 1))]
    found = resemblance(["child", "mother", "father", "aunt"], [p[0] for p in people],
                        [p[1] for p in people])
    assert found.matrix.shape == (4, 4) and np.allclose(found.matrix, found.matrix.T)
    assert np.allclose(np.diag(found.matrix), 100)
    assert found.most_like(0)[0] == 1 and found.verdict().startswith("child looks most like mother")
    assert found.most_like(0, "eyes")[0] == 1
    for matrix in found.regions.values():
        assert ((0 <= matrix) & (matrix <= 100)).all()
    report = found.to_dict()
    assert set(report["regions"]) == set(REGIONS) and "children" in report["note"]


def test_needs_two_people():
    image, face = main_face(lfw("Tony_Blair", 1))
    with pytest.raises(ValueError):
        resemblance(["alone"], [image], [face])

"""Family resemblance on real photos: region masks, the matrix, the verdict."""

from __future__ import annotations

import numpy as np
import pytest

import ml
from ml.errors import WeightsMissing
from ml.family.kinship import KINDS, KinshipModel, kinship_model
from ml.family.resemblance import REGIONS, photo_vectors, region_chips, resemblance
from tests.support import lfw

# Parent → child pairs among LFW's people (public families; never used in training or tuning).
LFW_FAMILIES = [("George_HW_Bush", "George_W_Bush"), ("George_HW_Bush", "Jeb_Bush"),
                ("Kirk_Douglas", "Michael_Douglas"), ("Martin_Sheen", "Charlie_Sheen"),
                ("Jon_Voight", "Angelina_Jolie"), ("Goldie_Hawn", "Kate_Hudson"),
                ("Tony_Curtis", "Jamie_Lee_Curtis"), ("Janet_Leigh", "Jamie_Lee_Curtis"),
                ("Blythe_Danner", "Gwyneth_Paltrow"), ("Bill_Clinton", "Chelsea_Clinton"),
                ("Hillary_Clinton", "Chelsea_Clinton"), ("Prince_Charles", "Prince_William"),
                ("Princess_Diana", "Prince_William"), ("Prince_Charles", "Prince_Harry"),
                ("Queen_Elizabeth_II", "Prince_Charles")]


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


def lfw_vectors(names: list[str]) -> np.ndarray:
    vectors = photo_vectors([ml.load_image(lfw(name)) for name in names])
    assert all(v is not None for v in vectors)
    return np.stack(vectors)


def test_kinship_is_a_probability_for_every_pair():
    people = [main_face(lfw("Prince_William", 1)), main_face(lfw("Princess_Diana", 1)),
              main_face(lfw("Prince_Charles", 1)), main_face(lfw("Colin_Powell", 1))]
    found = resemblance(["child", "mother", "father", "stranger"], [p[0] for p in people],
                        [p[1] for p in people])
    off = ~np.eye(4, dtype=bool)
    assert np.isnan(np.diag(found.kinship)).all()
    assert ((found.kinship[off] >= 0) & (found.kinship[off] <= 1)).all()
    assert np.allclose(found.kinship[1:, 1:][~np.eye(3, dtype=bool)],
                       found.kinship[1:, 1:].T[~np.eye(3, dtype=bool)])
    report = found.to_dict()["kinship"]
    assert set(report["scores"]) == {"mother", "father", "stranger"}
    assert all(0 <= p <= 1 for p in report["scores"].values())
    assert report["matrix"][0][0] is None and len(report["matrix"]) == 4
    assert report["most_like"] in report["scores"]
    # The verdict names the relative ranked highest among same-relation strangers.
    best = max(report["stranger_rank"], key=report["stranger_rank"].get)
    assert found.verdict().startswith(f"child looks most like {best}: kinship")
    assert "%" in report["about"] and "families it never saw" in report["about"]


def test_real_parents_score_higher_than_other_peoples_parents():
    """Public parent-child pairs from LFW: each child with its parent scores higher on average
    than with the other families' parents of the same sex."""
    parents = sorted({p for p, _ in LFW_FAMILIES})
    children = sorted({c for _, c in LFW_FAMILIES})
    vectors = dict(zip(parents + children, lfw_vectors(parents + children), strict=True))
    model = kinship_model()
    male = {name: model.male(vectors[name])[0] > 0.5 for name in vectors}
    kin, strangers = [], []
    for parent, child in LFW_FAMILIES:
        kin.append(model.probability(vectors[parent][None], vectors[child][None])[0])
        family = {p for p, c in LFW_FAMILIES if c == child}
        strangers += [model.probability(vectors[other][None], vectors[child][None])[0]
                      for other in parents if other not in family and male[other] == male[parent]]
    assert np.mean(kin) > np.mean(strangers) + 0.1


def test_sex_is_read_from_the_face():
    model = kinship_model()
    men = lfw_vectors(["Tony_Blair", "Colin_Powell", "George_W_Bush", "Prince_Charles"])
    women = lfw_vectors(["Serena_Williams", "Angelina_Jolie", "Hillary_Clinton", "Kate_Hudson"])
    assert (model.male(men) > 0.5).all() and (model.male(women) < 0.5).all()
    assert men.shape[1:] == (len(KINDS), 128)


def test_missing_weights_say_how_to_train(tmp_path):
    with pytest.raises(WeightsMissing, match="ml.training.kinship"):
        KinshipModel.load(tmp_path / "none.npz")

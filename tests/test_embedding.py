"""The PyTorch port is dlib's network, and its distances mean "same person"."""

from __future__ import annotations

import dlib
import face_recognition_models as dlib_models
import numpy as np
import pytest
import torch

import ml
from ml.faces.dlib_resnet import DlibResNet
from ml.weights import load_dlib_resnet_state
from tests.support import LFW, lfw

PEOPLE = ["Tony_Blair", "Serena_Williams", "Colin_Powell", "Gloria_Macapagal_Arroyo",
          "Jennifer_Aniston", "Hugo_Chavez"]


def embed_main_face(path) -> ml.Embeddings:
    image = ml.load_image(path)
    face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
    return ml.embed(image, [face])


def test_port_matches_dlib_on_dlib_aligned_chips():
    hog = dlib.get_frontal_face_detector()
    shape5 = dlib.shape_predictor(dlib_models.pose_predictor_five_point_model_location())
    reference = dlib.face_recognition_model_v1(dlib_models.face_recognition_model_location())
    photos = sorted(LFW.glob("*/*.jpg"))[::600][:20]
    chips, theirs = [], []
    for path in photos:
        image = ml.load_image(path)
        boxes = hog(image, 1)
        if boxes:
            chip = dlib.get_face_chip(image, shape5(image, boxes[0]), size=150, padding=0.25)
            chips.append(chip)
            theirs.append(np.array(reference.compute_face_descriptor(chip)))
    assert len(chips) >= 15
    with torch.inference_mode():
        ours = DlibResNet.from_face_api(load_dlib_resnet_state())(torch.from_numpy(np.stack(chips)))
    ours, theirs = ours.numpy(), np.stack(theirs)
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 0.999


def test_same_person_pairs_are_closer_than_different_person_pairs():
    vectors = {p: [embed_main_face(lfw(p, n)) for n in (1, 2)] for p in PEOPLE}
    same = [ml.distances(a, b)[0, 0] for a, b in vectors.values()]
    different = [ml.distances(vectors[p][0], vectors[q][1])[0, 0]
                 for p in PEOPLE for q in PEOPLE if p != q]
    assert max(same) < min(different)
    assert all(ml.compare(a, b).same_person for a, b in vectors.values())
    assert not any(ml.compare(vectors[p][0], vectors[q][0]).same_person
                   for p in PEOPLE for q in PEOPLE if p != q)


def test_embeddings_are_unit_vectors_in_face_order():
    image = ml.load_image(lfw("Tony_Blair", 1))
    faces = ml.detect(image)
    both = ml.embed(image, faces + faces)
    assert both.embedder == "dlib" and both.vectors.shape == (2 * len(faces), 128)
    assert np.allclose(np.linalg.norm(both.vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(both.vectors[0], both.vectors[len(faces)], atol=1e-5)
    assert len(ml.embed(image, [])) == 0


def test_similarity_is_monotone_and_high_for_the_same_person():
    a, b = embed_main_face(lfw("Colin_Powell", 1)), embed_main_face(lfw("Colin_Powell", 2))
    c = embed_main_face(lfw("Serena_Williams", 1))
    same, different = ml.compare(a, b), ml.compare(a, c)
    # a stranger pair sits below the "no close match" line (45%: docs/calibration.md)
    assert same.similarity > 80 > 45 > different.similarity
    assert ml.similarity(0.2, "dlib") > ml.similarity(0.6, "dlib") > ml.similarity(1.0, "dlib")


def test_mixing_embedders_is_refused():
    a = embed_main_face(lfw("Colin_Powell", 1))
    other = ml.Embeddings(np.ones((1, 128), np.float32) / np.sqrt(128), "another")
    with pytest.raises(ml.EmbedderMismatch, match="same embedder"):
        ml.compare(a, other)
    with pytest.raises(ml.EmbedderMismatch):
        ml.Embeddings.concat([a, other])


def test_only_embedders_that_work_end_to_end_are_offered():
    """facenet was registered but could neither compare (no calibration) nor be set up (its
    weights are not obtainable by ``lookalike setup``): asking for it is a clear refusal. Every
    embedder offered loads and has a calibration (photos: dlib; drawings: drawn)."""
    from ml.faces.embedding import EMBEDDERS, get_embedder
    from ml.faces.verify import calibration

    assert list(EMBEDDERS) == ["dlib", "drawn"]
    for name in EMBEDDERS:
        assert calibration(name)["threshold"] > 0
        assert get_embedder(name).name == name
    with pytest.raises(ml.UnknownEmbedder, match="known: dlib, drawn"):
        get_embedder("facenet")


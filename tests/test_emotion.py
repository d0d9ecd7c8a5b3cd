"""The shipped emotion CNN: loads, beats chance by far, reads real faces, takes odd crops."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
from PIL import Image

import ml
from ml.emotion.model import (
    CLASSES,
    EMOTION_TEMPLATE,
    WEIGHTS,
    load_model,
    predict_crops,
    to_grey48,
)
from ml.faces.alignment import align
from ml.paths import data_dir
from tests.support import lfw, lookalike

PER_CLASS = 40  # a fixed slice: the first 40 validation crops of each class (disgust has 57)


@pytest.fixture(scope="module")
def validation_slice(tmp_path_factory):
    """FER2013 validation crops laid out DIR/<class>/*.jpg, as `emotion evaluate` reads them."""
    root = tmp_path_factory.mktemp("fer_val")
    taken = dict.fromkeys(CLASSES, 0)
    with tarfile.open(data_dir() / "fer2013" / "fer2013_trainval.tar.gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and parts[1] == "validation" and taken[parts[2]] < PER_CLASS:
                (root / parts[2]).mkdir(exist_ok=True)
                (root / parts[2] / parts[3]).write_bytes(tar.extractfile(member).read())
                taken[parts[2]] += 1
    return root


def test_shipped_weights_are_small_fp16_and_load():
    assert WEIGHTS.exists() and WEIGHTS.stat().st_size < 5_000_000
    probs = predict_crops(np.full((2, 48, 48), 128, np.uint8), load_model())
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1.0, atol=1e-4)


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_evaluate_on_validation_slice_is_far_above_chance(validation_slice):
    result = lookalike("emotion", "evaluate", str(validation_slice))
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("accuracy=") and last.endswith(f"n={7 * PER_CLASS}")
    # Chance is 1/7 = 0.14 on this balanced slice; a broken crop or normalisation lands near it.
    assert float(last.split()[0].split("=")[1]) >= 0.50
    for name in CLASSES:
        assert any(line.startswith(name) for line in result.stdout.splitlines())


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_ckplus_names_map_and_unknown_classes_are_reported(tmp_path):
    ck = data_dir() / "ckplus48"
    for folder in ("anger", "sadness", "happy", "contempt"):
        (tmp_path / folder).mkdir()
        for file in sorted((ck / folder).iterdir())[:5]:
            (tmp_path / folder / file.name).write_bytes(file.read_bytes())
    result = lookalike("emotion", "evaluate", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "skipped unknown classes: contempt" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("n=15")
    assert any(line.startswith("angry") for line in result.stdout.splitlines())


def test_a_clearly_happy_photo_is_happy():
    image = ml.load_image(lfw("Cameron_Diaz", 1))  # a broad smile
    faces = ml.detect(image)
    emotion = ml.emotions(image, faces[:1])[0]
    assert emotion.label == "happy" and emotion.probabilities["happy"] > 0.5
    assert abs(sum(emotion.probabilities.values()) - 1) < 1e-3


@pytest.mark.parametrize("size, mode", [((48, 48), "L"), ((96, 96), "RGB"), ((80, 100), "RGB"),
                                        ((61, 61), "L"), ((120, 120), "RGBA")])
def test_grey_colour_and_odd_size_crops(size, mode):
    image = ml.load_image(lfw("Cameron_Diaz", 1))
    chip = align(image, ml.detect(image)[0], 150, EMOTION_TEMPLATE)  # colour, FER geometry
    crop = np.asarray(Image.fromarray(chip).convert(mode).resize(size))
    grey = to_grey48(crop)
    assert grey.shape == (48, 48) and grey.dtype == np.uint8
    assert CLASSES[int(predict_crops(grey[None]).argmax())] == "happy"


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_cli_emotion_per_face_and_bad_input(tmp_path):
    result = lookalike("emotion", "--json", str(lfw("Cameron_Diaz", 1)))
    assert result.returncode == 0, result.stderr
    face = json.loads(result.stdout)["faces"][0]
    assert set(face["emotion"]["probabilities"]) == set(CLASSES)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    result = lookalike("emotion", str(bad))
    assert result.returncode == 2 and "not an image" in result.stderr
    assert "Traceback" not in result.stderr

"""Lookalikes about a person, not a photo: the default gallery's new folders, identity-level
ranking of known people, several photos combined into one answer, how firm the answer is."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import ml
from ml.errors import DifferentPeople, NoFaces
from ml.galleries.build import build
from ml.galleries.firmness import firmness, lookalikes_with_firmness
from ml.galleries.profile import person_profile
from ml.galleries.store import Gallery, default_sources, person_key
from ml.paths import data_dir
from tests.support import enrol, lfw, lookalike

PINS = data_dir() / "pins"


def pins(person: str, photos: range, folder):
    (folder / person).mkdir(parents=True, exist_ok=True)
    for n in photos:
        shutil.copy(PINS / person / f"{person}_{n:04d}.jpg", folder / person)
    return folder


def query(path):
    image = ml.load_image(path)
    return ml.embed(image, ml.detect(image)[:1])


def test_the_default_gallery_takes_in_the_new_actor_folders():
    sources, actors = default_sources()
    assert [s.name for s in sources] == ["lfw", "cfp", "pins", "hollywood", "kpop", "bollywood"]
    assert "henry_cavill" in {person_key(n) for n in actors.read_text().splitlines()}


def test_a_pins_only_actor_is_a_lookalike_and_lfw_plus_pins_is_one_identity(tmp_path,
                                                                             gallery_name):
    lfw_src = enrol(tmp_path / "lfw", ["Emma_Watson", "Tony_Blair", "Colin_Powell"],
                    photos=range(1, 4))
    pins_src = pins("Emma_Watson", range(1, 5), tmp_path / "pins")
    pins("Henry_Cavill", range(2, 8), pins_src)
    data = build(gallery_name, [lfw_src, pins_src], data_dir() / "actors.txt")
    emma = [i for i in data.identities if i.key == "emma_watson"]
    assert len(emma) == 1 and emma[0].photos == 7  # 3 LFW + 4 Pins photos, one person
    gallery = Gallery.open(gallery_name)
    top = gallery.lookalikes(query(PINS / "Henry_Cavill" / "Henry_Cavill_0001.jpg"), k=3)[0]
    assert top[0].name == "Henry Cavill" and top[0].actor
    assert top[0].thumbnail and top[0].photo.startswith(str(pins_src / "Henry_Cavill"))
    actors = gallery.lookalikes(query(lfw("Tony_Blair", 5)), k=5, actors_only=True)[0]
    assert {m.name for m in actors} <= {"Emma Watson", "Henry Cavill"}


def test_a_celebrity_gallery_answers_with_known_people_only(tmp_path, gallery_name):
    """Known: actors, or people with at least KNOWN_MIN_PHOTOS photos; a one-photo news face
    never comes up as a lookalike there (it still does in a gallery of your own people)."""
    src = enrol(tmp_path / "src", ["Tony_Blair", "Colin_Powell"], photos=range(2, 8))
    enrol(src, ["Hugo_Chavez"], photos=[2])
    build(gallery_name, [src], known_min_photos=5)
    known = Gallery.open(gallery_name).lookalikes(query(lfw("Hugo_Chavez", 1)), k=5)[0]
    assert {m.name for m in known} == {"Tony Blair", "Colin Powell"}
    build(gallery_name, [src])
    everyone = Gallery.open(gallery_name).lookalikes(query(lfw("Hugo_Chavez", 1)), k=5)[0]
    assert everyone[0].name == "Hugo Chavez"


def test_several_photos_of_one_person_make_one_profile():
    profile = person_profile([lfw("Tony_Blair", 1), lfw("Tony_Blair", 2), lfw("Tony_Blair", 3)])
    assert len(profile.vector) == 1 and len(profile.photos) == 3
    assert abs(float(np.linalg.norm(profile.vector.vectors[0])) - 1) < 1e-5
    # the profile sits nearer each photo than the photos sit to each other, on average
    pairs = ml.distances(profile.photos, profile.photos)[np.triu_indices(3, 1)].mean()
    assert ml.distances(profile.vector, profile.photos).mean() < pairs


def test_a_photo_of_someone_else_is_named():
    with pytest.raises(DifferentPeople, match="photo 3 shows someone else") as caught:
        person_profile([lfw("Tony_Blair", 1), lfw("Tony_Blair", 2), lfw("Serena_Williams", 1)])
    assert caught.value.photo == 3
    with pytest.raises(DifferentPeople, match="photos 1 and 2 show different people"):
        person_profile([lfw("Tony_Blair", 1), lfw("Serena_Williams", 1)])


def test_a_photo_without_a_face_is_named(tmp_path):
    blank = tmp_path / "wall.png"
    from PIL import Image

    Image.new("RGB", (200, 200), (120, 130, 140)).save(blank)
    with pytest.raises(NoFaces, match="photo 2: no face"):
        person_profile([lfw("Tony_Blair", 1), blank])


def test_the_answer_says_how_firm_it_is(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "src", ["Tony_Blair", "Colin_Powell",
                                                   "Serena_Williams"])])
    gallery = Gallery.open(gallery_name)
    found, firm = lookalikes_with_firmness(gallery, query(lfw("Tony_Blair", 1)), k=3)
    assert found[0][0].name == "Tony Blair"
    assert 0 < firm[0].chance <= 1 and firm[0].level in ("firm", "fair", "loose")
    assert "Tony Blair" in firm[0].text
    # a top-1 far ahead of the runner-up is firmer than one just ahead
    assert firmness("A", 0.3).chance >= firmness("A", 0.0).chance
    several = firmness("A", 0.1, ["A", "A", "B"])
    assert several.photos_agreeing == 2 and "2 of your 3 photos" in several.text


def test_cli_per_person_prints_one_line_per_folder(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "src", ["Tony_Blair", "Colin_Powell",
                                                   "Serena_Williams"])])
    people = tmp_path / "people"
    for folder, photos in {"tony": [lfw("Tony_Blair", 1), lfw("Tony_Blair", 7)],
                           "colin": [lfw("Colin_Powell", 1), lfw("Colin_Powell", 7)],
                           "mixed": [lfw("Tony_Blair", 8), lfw("Serena_Williams", 1)]}.items():
        (people / folder).mkdir(parents=True)
        for photo in photos:
            shutil.copy(photo, people / folder)
    result = lookalike("match", "--per-person", str(people), "--gallery", gallery_name,
                       "--k", "2", "--json")
    lines = {line["person"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert set(lines) == {"tony", "colin", "mixed"}
    assert lines["tony"]["photos"] == 2 and lines["tony"]["lookalikes"][0]["name"] == "Tony Blair"
    assert len(lines["colin"]["lookalikes"]) == 2
    assert lines["colin"]["lookalikes"][0]["name"] == "Colin Powell"
    assert lines["colin"]["firmness"]["photos"] == 2
    assert "show different people" in lines["mixed"]["error"]
    assert result.returncode == 2 and "Traceback" not in result.stderr  # one folder failed
    missing = lookalike("match", "--per-person", str(tmp_path / "nowhere"), "--gallery",
                        gallery_name)
    assert missing.returncode == 2 and "not a folder" in missing.stderr

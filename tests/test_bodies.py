"""People whose face the camera does not see (issue 29), on real human_seg people: person boxes,
screen time that keeps counting a person who turns away, and stills whose faceless people are
named by the faces seen in the other stills."""

from __future__ import annotations

import json
import shutil
import uuid

import numpy as np
import pytest
from PIL import Image

from bench.clip import make_turnaway_clip
from ml.bodies.detection import box_iou, find_people
from ml.faces.detection import detect
from ml.galleries.build import build
from ml.galleries.store import Gallery, delete_gallery
from ml.training import fullbody
from ml.video.screentime import screentime
from tests.support import actors as load_actors
from tests.support import lookalike, stills_of

CAST = ("Ada", "Ben")  # tests.support.ACTORS: human_seg people; "Stranger" is not in the cast


@pytest.fixture(scope="module")
def actors() -> dict:
    """name → (photo, person mask, face box): the cast and a stranger."""
    return load_actors()


@pytest.fixture(scope="module")
def cast(actors, tmp_path_factory):
    """A gallery of the cast, enrolled from their photos."""
    folder = tmp_path_factory.mktemp("cast")
    for name in CAST:
        (folder / name).mkdir()
        Image.fromarray(actors[name][0]).save(folder / name / "photo.jpg", quality=95)
    name = f"bodies-{uuid.uuid4().hex[:8]}"
    build(name, [folder])
    yield Gallery.open(name)
    delete_gallery(name)


def test_person_boxes_find_each_of_several_people(actors):
    """Three people side by side, touching: one box each, split between their faces."""
    people = [actors[n][:2] for n in ("Ada", "Ben", "Stranger")]
    truth: list = []
    picture, _ = fullbody.group(people, np.full((400, 600, 3), 120, np.uint8),
                                np.random.default_rng(1), height=600, boxes=truth)
    found = find_people(picture, [f.box for f in detect(picture)])
    assert len(found) == 3
    for box in truth:
        assert max(box_iou(p.box, box) for p in found) >= 0.5
    assert find_people(np.full((480, 640, 3), 200, np.uint8)) == []  # a bare wall: nobody


def test_a_turned_away_face_is_not_found_but_the_person_is(actors):
    facing, turned = stills_of(actors, [[("Ada", "F")], [("Ada", "B")]])
    assert len(detect(facing)) == 1 and detect(turned) == []
    assert len(find_people(turned)) == 1


def test_screen_time_keeps_counting_a_person_who_turns_away(actors, cast, tmp_path):
    """Ada faces the camera for 3 s then turns away for 3; Ben turns round after 2 s; Ada is
    then seen only from behind for 4 s; a stranger never shows their face. Faces alone miss the
    turned-away seconds; with bodies each is within 1 s of the truth, and the stranger is
    nobody."""
    shots = [[("Ada", "FFFBBB"), ("Ben", "BBFFFF")],
             [("Ada", "BBBB")],
             [("Stranger", "BBBB")]]
    path = tmp_path / "turnaway.mp4"
    truth = make_turnaway_clip(actors, shots, path)
    before = {p.name: p for p in screentime(path, cast, bodies=False).people}
    result = screentime(path, cast)
    after = {p.name: p for p in result.people}
    assert before["Ada"].seconds == pytest.approx(3, abs=1)
    assert before["Ben"].seconds == pytest.approx(4, abs=1)
    for name in CAST:
        true = sum(b - a for a, b in truth[name]["on_screen"])
        facing = sum(b - a for a, b in truth[name]["facing"])
        assert after[name].seconds == pytest.approx(true, abs=1)
        assert after[name].body_seconds == pytest.approx(true - facing, abs=1)
    assert set(after) == set(CAST)
    assert result.to_dict()["bodies"] and "body_seconds" in result.to_dict()["people"][0]


@pytest.mark.integration  # runs the CLI as a process
def test_identify_names_a_faceless_person_from_another_still(actors, cast, tmp_path):
    """Still 1: Ada and Ben facing. Still 2: Ada from behind beside Ben. Ada's body in still 2
    is named by her face in still 1; with --faces-only she is not found at all."""
    stills = stills_of(actors, [[("Ada", "F"), ("Ben", "F")], [("Ada", "B"), ("Ben", "F")]])
    paths = []
    for n, still in enumerate(stills, 1):
        paths.append(tmp_path / f"still{n}.jpg")
        Image.fromarray(still).save(paths[-1], quality=92)
    result = lookalike("identify", *map(str, paths), "--gallery", cast.name, "--json",
                       "--draw", str(tmp_path / "drawn"))
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert [f["name"] for f in first["faces"]] == ["Ada", "Ben"] and first["bodies"] == []
    assert [f["name"] for f in second["faces"]] == ["Ben"]
    assert [(b["name"], b["by"]) for b in second["bodies"]] == [("Ada", "body")]
    assert second["bodies"][0]["box"][2] < 640  # on the left, where she stands
    assert (tmp_path / "drawn" / "still2.jpg").exists()
    faces_only = lookalike("identify", *map(str, paths), "--gallery", cast.name, "--json",
                           "--faces-only")
    assert all(json.loads(line)["bodies"] == [] for line in faces_only.stdout.splitlines())
    shutil.rmtree(tmp_path / "drawn")

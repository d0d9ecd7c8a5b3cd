"""Cast identification and screen time on real photos and a generated video with known truth."""

from __future__ import annotations

import csv
import json
import shutil
import uuid

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.clip import make_clip
from ml.errors import VideoError
from ml.galleries.build import build
from ml.galleries.identify import identify
from ml.galleries.store import Gallery
from ml.paths import home
from ml.render.identified import draw_identifications
from ml.video.screentime import open_video, screentime
from tests.support import enrol, lfw, lookalike

CAST = ["Tony_Blair", "Colin_Powell", "Serena_Williams"]


@pytest.fixture(scope="module")
def cast(tmp_path_factory):
    """A film's cast as a user enrols it: four photos each (photos 2-5; 1 and 10+ held out)."""
    name = f"cast-{uuid.uuid4().hex[:8]}"
    build(name, [enrol(tmp_path_factory.mktemp("cast"), CAST, photos=range(2, 6))])
    yield Gallery.open(name)
    root = home() / "galleries"
    (root / name).unlink(missing_ok=True)
    for version in root.glob(f".{name}.*"):
        shutil.rmtree(version, ignore_errors=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """13 s: Blair alone, an empty shot, Powell beside Williams, Blair again, a stranger."""
    shots = [(3, [("Tony Blair", lfw("Tony_Blair", 10))]),
             (2, []),
             (4, [("Colin Powell", lfw("Colin_Powell", 10)),
                  ("Serena Williams", lfw("Serena_Williams", 10))]),
             (2, [("Tony Blair", lfw("Tony_Blair", 11))]),
             (2, [("stranger", lfw("Hugo_Chavez", 1))])]
    path = tmp_path_factory.mktemp("video") / "scene.mp4"
    truth = make_clip(shots, path)
    return path, truth


def test_identify_names_cast_and_calls_strangers_unknown(cast):
    for person in CAST:
        found = identify(lfw(person, 1), cast)
        assert [f.name for f in found] == [person.replace("_", " ")]
        assert found[0].known and found[0].similarity > 50
    stranger = identify(lfw("Hugo_Chavez", 1), cast)
    assert [f.name for f in stranger] == ["unknown"] and not stranger[0].known
    picture = draw_identifications(lfw("Tony_Blair", 1), identify(lfw("Tony_Blair", 1), cast))
    assert picture.size == Image.open(lfw("Tony_Blair", 1)).size


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_identify_cli_json_and_drawing(cast, tmp_path):
    result = lookalike("identify", str(lfw("Serena_Williams", 1)), str(lfw("Hugo_Chavez", 1)),
                       "--gallery", cast.name, "--json", "--draw", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["name"] for f in lines[0]["faces"]] == ["Serena Williams"]
    assert [f["name"] for f in lines[1]["faces"]] == ["unknown"]
    assert (tmp_path / "Serena_Williams_0001.jpg").exists()
    missing = lookalike("identify", str(lfw("Serena_Williams", 1)), "--gallery", "no-such")
    assert missing.returncode == 2 and "no gallery named 'no-such'" in missing.stderr


def test_screen_time_matches_the_clip(cast, clip):
    path, truth = clip
    result = screentime(path, cast, fps=2)
    assert abs(result.duration - 13) < 0.01
    seconds = {p.name: p.seconds for p in result.people}
    assert set(seconds) == {"Tony Blair", "Colin Powell", "Serena Williams"}  # not the stranger
    for person, spans in truth.items():
        if person != "stranger":
            assert abs(seconds[person] - sum(b - a for a, b in spans)) <= 0.5, person
    blair = next(p for p in result.people if p.name == "Tony Blair")
    assert len(blair.appearances) == 2  # two separate shots, not merged over the gap
    assert result.unknown_seconds >= 1.5  # the stranger was seen, and left unnamed


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_screentime_cli_json_csv_timeline(cast, clip, tmp_path):
    path, _ = clip
    result = lookalike("screentime", str(path), "--gallery", cast.name, "--json",
                       "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["video"] == str(path) and report["duration"] == 13.0
    people = {p["name"]: p for p in report["people"]}
    assert people["Colin Powell"]["appearances"] == [[5.0, 9.0]]
    rows = list(csv.DictReader(open(tmp_path / "scene.screentime.csv")))
    assert {r["name"] for r in rows} == set(people)
    assert Image.open(tmp_path / "scene.timeline.png").width == 1000
    assert Image.open(tmp_path / "scene.contact.jpg").height > 100


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_bad_videos_get_clear_messages(tmp_path, cast):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(VideoError, match="not a video"):
        open_video(text)
    empty = tmp_path / "empty.mp4"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 64))
    writer.release()
    with pytest.raises(VideoError):
        open_video(empty)
    short = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for _ in range(30):
        writer.write(np.zeros((64, 64, 3), np.uint8))
    writer.release()
    assert abs(open_video(short).duration - 3) < 0.01
    with pytest.raises(VideoError, match="limit is 2 s"):
        open_video(short, max_seconds=2)
    faceless = screentime(short, cast)
    assert faceless.people == [] and faceless.samples == 6
    result = lookalike("screentime", str(text), "--gallery", cast.name)
    assert result.returncode == 2 and "not a video" in result.stderr
    assert "Traceback" not in result.stderr

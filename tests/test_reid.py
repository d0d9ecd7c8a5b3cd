"""`lookalike reid`: people ranked by their bodies, from folders of person crops."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from ml.bodies.embedding import embed_bodies, rank_people
from ml.paths import data_dir
from tests.support import lookalike

PEOPLE = ("5", "12", "19", "26")  # human_seg photos: one person each, head and shoulders


def photo(stem: str) -> np.ndarray:
    image = cv2.imread(str(data_dir() / "human_seg" / "images" / f"{stem}.jpg"))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def test_a_person_is_nearest_their_own_other_view():
    """A crop shifted and mirrored is still nearest the same person's crop; every person is
    ranked once."""
    gallery = [photo(s) for s in PEOPLE]
    view = photo(PEOPLE[2])[10:, ::-1]  # cut at the top and mirrored: another view
    vectors = embed_bodies(gallery)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    ranking = rank_people(embed_bodies([view]), vectors, list(PEOPLE))[0]
    assert [name for name, _ in ranking][0] == PEOPLE[2]
    assert sorted(name for name, _ in ranking) == sorted(PEOPLE)


@pytest.mark.integration  # runs the CLI as a process
def test_reid_cli_ranks_every_gallery_person_per_query(tmp_path):
    for stem in PEOPLE:
        (tmp_path / "gallery" / f"person{stem}").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "gallery" / f"person{stem}" / "a.jpg"),
                    cv2.cvtColor(photo(stem), cv2.COLOR_RGB2BGR))
    (tmp_path / "query").mkdir()
    cv2.imwrite(str(tmp_path / "query" / "q.jpg"),
                cv2.cvtColor(np.ascontiguousarray(photo(PEOPLE[1])[:, ::-1]), cv2.COLOR_RGB2BGR))
    out = lookalike("reid", "--gallery", str(tmp_path / "gallery"), "--query",
                    str(tmp_path / "query"), "--json")
    assert out.returncode == 0, out.stderr
    line = json.loads(out.stdout)
    assert line["image"] == str(tmp_path / "query" / "q.jpg")
    assert line["ranking"][0] == f"person{PEOPLE[1]}"
    assert sorted(line["ranking"]) == sorted(f"person{s}" for s in PEOPLE)


@pytest.mark.integration  # runs the CLI as a process
def test_reid_cli_bad_input_is_a_message_and_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "q.txt").write_text("not an image")
    for args, words in ((["--gallery", str(tmp_path / "nowhere"), "--query", str(tmp_path)],
                         "not a folder"),
                        (["--gallery", str(tmp_path / "empty"), "--query", str(tmp_path)],
                         "no crops")):
        out = lookalike("reid", *args)
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr

"""`lookalike family` as a user runs it: the family page's answer, and kinship per pair."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import ml
from tests.support import lfw, lookalike


@pytest.mark.integration  # runs the CLI as a process
def test_family_pairs_prints_one_json_line_per_pair(tmp_path):
    image = ml.load_image(lfw("Tony_Blair", 1))
    no_face = tmp_path / "body.png"
    Image.fromarray(image[image.shape[0] // 2 :]).save(no_face)
    pairs = [(str(lfw("George_HW_Bush")), str(lfw("George_W_Bush"))),
             (str(lfw("Kirk_Douglas")), str(lfw("Michael_Douglas"))),
             (str(no_face), str(lfw("Colin_Powell")))]
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{a}\t{b}\n" for a, b in pairs))
    result = lookalike("family", "--pairs", str(tsv), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["a"], line["b"]) for line in lines] == pairs  # paths exactly as given
    assert all(0 <= line["kinship"] <= 1 for line in lines[:2])
    assert lines[2]["kinship"] is None  # no face in the parent's photo


@pytest.mark.integration
def test_family_photos_print_what_the_page_shows():
    photos = [str(lfw("Prince_William")), str(lfw("Princess_Diana")), str(lfw("Prince_Charles"))]
    result = lookalike("family", *photos, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["names"] == photos and report["missing"] == []
    assert set(report["kinship"]["scores"]) == set(photos[1:])
    assert all(0 <= p <= 1 for p in report["kinship"]["scores"].values())
    assert report["verdict"].startswith(f"{photos[0]} looks most like ")
    assert set(report["regions"]) == {"eyes", "nose", "mouth"} and len(report["matrix"]) == 3
    assert "right for" in report["kinship"]["about"]


@pytest.mark.integration
def test_family_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("only-one-column\n")
    cases = [("family", "--pairs", str(bad)), ("family", "--pairs", str(tmp_path / "none.tsv")),
             ("family", str(lfw("Prince_William"))),
             ("family", str(lfw("Prince_William")), "--pairs", str(bad))]
    for args in cases:
        result = lookalike(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("lookalike: error: ") and "Traceback" not in result.stderr

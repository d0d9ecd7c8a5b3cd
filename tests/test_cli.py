"""The `lookalike` command as a user runs it: real process, real photos, real exit codes."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support import lfw, lookalike


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_faces_prints_json_per_image():
    result = lookalike("faces", str(lfw("Tony_Blair", 1)), str(lfw("Serena_Williams", 1)))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["image"] for line in lines] == [str(lfw("Tony_Blair", 1)),
                                                  str(lfw("Serena_Williams", 1))]
    face = lines[0]["faces"][0]
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5 and face["score"] > 0.9


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_compare_same_and_different_people():
    same = lookalike("compare", str(lfw("Colin_Powell", 1)), str(lfw("Colin_Powell", 3)))
    assert same.returncode == 0 and "same person" in same.stdout
    diff = lookalike("compare", "--json", str(lfw("Colin_Powell", 1)), str(lfw("Hugo_Chavez", 1)))
    result = json.loads(diff.stdout)
    assert result["same_person"] is False and 0 <= result["similarity"] < 50


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_verify_reports_accuracy_auc_and_faceless_pairs(tmp_path):
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), "white").save(blank)
    pairs = [
        (lfw("Colin_Powell", 1), lfw("Colin_Powell", 2), 1),
        (lfw("Tony_Blair", 1), lfw("Tony_Blair", 2), 1),
        (lfw("Colin_Powell", 1), lfw("Tony_Blair", 1), 0),
        (lfw("Serena_Williams", 1), lfw("Hugo_Chavez", 1), 0),
        (blank, lfw("Hugo_Chavez", 1), 0),  # no face: counted wrong
    ]
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{a}\t{b}\t{s}\n" for a, b, s in pairs))
    result = lookalike("verify", str(tsv))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("accuracy=0.8000 auc=")
    assert result.stdout.splitlines()[-1].endswith(" pairs=5")
    assert "no face found" in result.stderr and "blank.png" in result.stderr


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_verify_rejects_a_malformed_line(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text(f"{lfw('Colin_Powell', 1)}\t{lfw('Colin_Powell', 2)}\tyes\n")
    result = lookalike("verify", str(tsv))
    assert result.returncode == 2 and "pairs.tsv:1" in result.stderr


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_bad_images_give_one_line_and_no_traceback(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(lfw("Colin_Powell", 1).read_bytes()[:2000])
    for bad in (text, truncated, tmp_path / "missing.jpg"):
        result = lookalike("compare", str(bad), str(lfw("Colin_Powell", 1)))
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("lookalike: error:") and str(bad) in result.stderr


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_compare_without_a_face_says_so(tmp_path):
    from PIL import Image

    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 200), "grey").save(blank)
    result = lookalike("compare", str(blank), str(lfw("Colin_Powell", 1)))
    assert result.returncode == 2 and "no face found" in result.stderr


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_missing_weights_say_what_to_run(tmp_path):
    result = lookalike("compare", str(lfw("Colin_Powell", 1)), str(lfw("Colin_Powell", 2)),
                       env={"LOOKALIKE_HOME": str(tmp_path)})
    assert result.returncode == 2 and "lookalike setup" in result.stderr
    assert "Traceback" not in result.stderr


def one_line_error(result, *words: str) -> None:
    """Exit code 2 and one line `lookalike: error: ...` holding ``words``: never a traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lookalike: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_removing_someone_not_in_the_gallery_is_one_line(tmp_path):
    from ml.galleries.build import build
    from ml.galleries.store import delete_gallery
    from tests.support import enrol

    name = f"test-{uuid.uuid4().hex[:10]}"
    build(name, [enrol(tmp_path / "src", ["Tony_Blair"], photos=[2, 3])])
    try:
        one_line_error(lookalike("gallery", "remove", name, "Nobody"), "not in gallery", "nobody")
        one_line_error(lookalike("gallery", "add", "no-such-gallery", "--from", str(tmp_path)),
                       "no gallery named 'no-such-gallery'")
    finally:
        delete_gallery(name)


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_match_while_another_process_builds_the_default_gallery_is_one_line(tmp_path,
                                                                            monkeypatch):
    from ml.galleries.store import gallery_lock
    from ml.paths import home

    fresh = tmp_path / "home"
    fresh.mkdir()
    (fresh / "weights").symlink_to(home() / "weights", target_is_directory=True)
    monkeypatch.setenv("LOOKALIKE_HOME", str(fresh))
    with gallery_lock("celebrities"):  # as the builder holds it, from its first photo
        result = lookalike("match", str(lfw("Tony_Blair", 1)), env={"LOOKALIKE_HOME": str(fresh)})
    one_line_error(result, "'celebrities' gallery is being built")


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_usage_mistakes_and_subcommands(tmp_path):
    result = lookalike("emotion", "evaluate", str(tmp_path / "missing"))
    one_line_error(result, "not a folder")
    result = lookalike("portrait", "evaluate", "--images", str(tmp_path))  # no --masks
    assert result.returncode == 2 and "--masks" in result.stderr
    assert "Traceback" not in result.stderr
    result = lookalike("emotion", "--help")
    assert result.returncode == 0 and "evaluate" in result.stdout and "classify" in result.stdout

"""The emotion benchmark's photo sets: the reserved half of the in-the-wild set is never chosen,
the per-class rule is the one fixed in advance, a photo with no face counts as wrong, and a set
that is not on disk is skipped with how to fetch it (CI has none of them)."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from bench.emotion import ferplus_majority, neutral_taken_for, photo_scores, photo_set
from bench.emotion_wild import (
    Crops,
    jaffe_photos,
    name_digest,
    reserved,
    wild_dir,
    wild_validation,
)
from ml.emotion.model import CLASSES


def names(first_digit: str, count: int) -> list[str]:
    """``count`` file names whose SHA-1 starts with ``first_digit``."""
    out, n = [], 0
    while len(out) < count:
        name = f"photo_{n}.jpg"
        if hashlib.sha1(name.encode()).hexdigest()[0] == first_digit:
            out.append(name)
        n += 1
    return out


def test_in_the_wild_half_and_per_class_rule(tmp_path):
    ours, theirs = names("3", 9), names("c", 4)
    rows = ([(n, "HAPPINESS") for n in ours[:5]] + [(ours[5], "Neutral"), (ours[6], "anger"),
            (ours[7], "disgust"), (ours[8], "sadness"), (ours[8], "neutral")]
            + [(n, "surprise") for n in theirs])
    (tmp_path / "data").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "data" / "legend.csv").write_text(
        "user.id,image,emotion\n" + "".join(f"1,{n},{e}\n" for n, e in rows))
    for n in ours[1:8] + theirs:  # ours[0] is listed but missing; ours[8] has two labels
        (tmp_path / "images" / n).write_bytes(b"")
    chosen = wild_validation(tmp_path, per_class=3)
    picked = [p.name for p, _ in chosen]
    assert not any(reserved(n) for n in picked) and all(reserved(n) for n in theirs)
    happy = sorted(ours[1:5], key=name_digest)[:3]  # the lowest digests that are on disk
    assert [p.name for p, c in chosen if CLASSES[c] == "happy"] == happy
    assert {CLASSES[c] for p, c in chosen if p.name == ours[5]} == {"neutral"}
    assert {CLASSES[c] for p, c in chosen if p.name == ours[6]} == {"angry"}
    assert ours[7] not in picked and ours[8] not in picked  # disgust; labelled twice
    assert len(picked) == 5


def test_jaffe_names_give_the_class(tmp_path):
    for name in ("KA.AN1.39.jpg", "KM.SU3.16.tiff", "KA.XX1.1.jpg", "README.md"):
        (tmp_path / name).write_bytes(b"")
    assert [(p.name, CLASSES[c]) for p, c in jaffe_photos(tmp_path)] == [
        ("KA.AN1.39.jpg", "angry"), ("KM.SU3.16.tiff", "surprise")]


def test_a_photo_with_no_face_counts_as_wrong():
    neutral, angry = CLASSES.index("neutral"), CLASSES.index("angry")
    probs = np.eye(len(CLASSES), dtype=np.float32)[[neutral, angry, angry]]
    crops = Crops(np.zeros((3, 48, 48), np.uint8), np.array([neutral, neutral, angry]),
                  np.array([neutral]), photos=4)
    scored = photo_scores(probs, crops)
    assert scored["accuracy"] == 0.5 and scored["found_accuracy"] == 2 / 3
    assert scored["per_class"] == {"angry": 1.0, "neutral": 1 / 3}
    assert scored["missed"] == 1
    assert neutral_taken_for(scored) == "no face 33%, angry 33%"


def test_absent_sets_are_skipped_with_how_to_fetch(tmp_path, monkeypatch, capsys):
    assert not (wild_dir() / "data" / "legend.csv").exists()  # tests never see the real photos
    assert photo_set("In the wild", "wild", tmp_path, None, "fetch github:x/y") is None
    monkeypatch.setenv("LOOKALIKE_FERPLUS", str(tmp_path))
    assert ferplus_majority(np.zeros((1, 48, 48), np.uint8)) is None
    said = capsys.readouterr().out
    assert "fetch github:x/y" in said and "fetch github:microsoft/FERPlus" in said


def test_ferplus_majority_drops_ties_and_faces_without_votes(tmp_path, monkeypatch):
    faces = np.stack([np.full((48, 48), v, np.uint8) for v in (20, 120, 220)])
    (tmp_path / "FER2013Valid").mkdir()
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt," \
             "unknown,NF\n"
    votes = ["PublicTest,fer0000001.png,2,6,0,0,2,0,0,0,0,0",  # happy
             "PublicTest,fer0000002.png,5,0,0,5,0,0,0,0,0,0",  # a tie
             "PublicTest,fer0000003.png,0,0,0,0,0,0,0,0,0,10"]  # not a face
    (tmp_path / "fer2013new.csv").write_text(header + "\n".join(votes) + "\n")
    for n, face in enumerate(faces, 1):
        Image.fromarray(face).save(tmp_path / "FER2013Valid" / f"fer000000{n}.png")
    monkeypatch.setenv("LOOKALIKE_FERPLUS", str(tmp_path))
    indices, labels = ferplus_majority(faces)
    assert indices.tolist() == [0] and [CLASSES[k] for k in labels] == ["happy"]

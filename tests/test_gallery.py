"""Galleries from real photos: build, search, grow, shrink, survive interruptions and rebuilds."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading

import pytest
from PIL import Image

import ml
from ml.faces.cache import FaceCache
from ml.galleries.build import add, build
from ml.galleries.prepare import build_status, prepare_default_gallery
from ml.galleries.store import Gallery, no_close_match, person_key
from ml.galleries.write import remove
from ml.paths import data_dir, home
from tests.support import enrol, lfw, lookalike

PEOPLE = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez", "Jennifer_Capriati"]


def query(path):
    image = ml.load_image(path)
    return ml.embed(image, ml.detect(image)[:1])


def test_held_out_photos_are_named_first(tmp_path, gallery_name):
    data = build(gallery_name, [enrol(tmp_path / "src", PEOPLE)])
    assert data.report["faces"] == 25 and data.report["identities"] == 5
    gallery = Gallery.open(gallery_name)
    for person in PEOPLE:
        top = gallery.lookalikes(query(lfw(person, 1)), k=3)[0]
        assert top[0].key == person_key(person)
        assert top[0].similarity > top[1].similarity >= top[2].similarity
        assert top[0].photo.startswith(str(tmp_path / "src" / person))
        assert top[0].thumbnail and Image.open(top[0].thumbnail).size == (160, 160)
        assert not no_close_match(top)


def test_a_person_with_many_photos_leaves_room_for_other_lookalikes(tmp_path, gallery_name):
    """George W. Bush's 120 photos fill Annoy's first 100 candidates by themselves."""
    enrol(tmp_path / "src", ["George_W_Bush"], photos=range(2, 122))
    build(gallery_name, [enrol(tmp_path / "src", PEOPLE[:3], photos=[2, 3])])
    gallery = Gallery.open(gallery_name)
    top = gallery.lookalikes(query(lfw("George_W_Bush", 1)), k=3)[0]
    assert [t.name for t in top][0] == "George W Bush" and len(top) == 3
    assert len(gallery.lookalikes(query(lfw("George_W_Bush", 1)), k=10)[0]) == 4  # everyone


def test_sources_merge_by_name_and_bad_files_are_reported(tmp_path, gallery_name):
    a = enrol(tmp_path / "a", ["Tony_Blair"], photos=[2, 3])
    b = tmp_path / "b"
    enrol(b, ["Colin_Powell"], photos=[2, 3])
    (b / "tony blair").mkdir()
    shutil.copy(lfw("Tony_Blair", 4), b / "tony blair" / "x.jpg")
    (b / "Colin_Powell" / "notes.jpg").write_text("not a photo")
    Image.new("RGB", (200, 200), "white").save(b / "Colin_Powell" / "wall.png")
    (b / "Nobody").mkdir()
    data = build(gallery_name, [a, b])
    report = data.report
    assert report["identities"] == 2 and report["faces"] == 5
    assert [i.photos for i in data.identities] == [3, 2]  # Tony Blair merged across sources
    assert len(report["unreadable"]) == 1 and "notes.jpg" in report["unreadable"][0]
    assert len(report["no_face"]) == 1 and report["no_face"][0].endswith("wall.png")
    assert report["empty"] == [str(b / "Nobody")]


def test_one_person_spelled_two_ways_by_two_sources_is_one_identity(tmp_path, gallery_name):
    """LFW's "Luiz Inacio Lula da Silva" is CFP's "Luiz Lula Da Silva"; George W. and George
    H. W. Bush share a surname, an initial and a family face, and stay two people."""
    lfw_source = enrol(tmp_path / "lfw", ["Luiz_Inacio_Lula_da_Silva", "George_W_Bush"])
    cfp_source = tmp_path / "cfp"
    lula = data_dir() / "cfp" / "Luiz_Lula_Da_Silva"
    shutil.copytree(lula, cfp_source / lula.name)
    enrol(cfp_source, ["George_HW_Bush"], photos=range(1, 6))
    data = build(gallery_name, [lfw_source, cfp_source])
    names = {i.name: i for i in data.identities}
    assert set(names) == {"Luiz Lula Da Silva", "George W Bush", "George HW Bush"}
    assert names["Luiz Lula Da Silva"].aliases == ["Luiz Inacio Lula da Silva"]
    assert names["Luiz Lula Da Silva"].photos == 5 + len(list(lula.glob("*.jpg")))
    assert data.report["merged"] == ["Luiz Inacio Lula da Silva -> Luiz Lula Da Silva"]
    top = Gallery.open(gallery_name).lookalikes(query(lfw("Luiz_Inacio_Lula_da_Silva", 1)),
                                                k=3)[0]
    assert top[0].name == "Luiz Lula Da Silva" and len({t.key for t in top}) == 3


def test_tgz_source_and_actor_filter(tmp_path, gallery_name):
    src = enrol(tmp_path / "lfw", PEOPLE[:3], photos=[2, 3])
    archive = tmp_path / "lfw.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="lfw")
    actors = tmp_path / "actors.txt"
    actors.write_text("Serena_Williams\n")
    build(gallery_name, [archive], actors)
    gallery = Gallery.open(gallery_name)
    assert len(gallery) == 6
    everyone = gallery.lookalikes(query(lfw("Tony_Blair", 1)), k=3)[0]
    only_actors = gallery.lookalikes(query(lfw("Tony_Blair", 1)), k=3, actors_only=True)[0]
    assert everyone[0].name == "Tony Blair" and not everyone[0].actor
    assert [m.name for m in only_actors] == ["Serena Williams"] and only_actors[0].actor
    assert only_actors[0].photo.startswith(f"{archive}:lfw/Serena_Williams/")


def test_add_embeds_only_new_photos_and_remove_forgets(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "first", PEOPLE[:2])])
    db = FaceCache(ml.get_embedder().fingerprint, 128).path
    rows = sqlite3.connect(db).execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    new = enrol(tmp_path / "second", ["Serena_Williams"], photos=[2, 3])
    Image.open(lfw("Serena_Williams", 4)).rotate(7).save(new / "Serena_Williams" / "new.png")
    data = add(gallery_name, [new])
    after = sqlite3.connect(db).execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    assert after - rows <= 3  # only photos never seen before were embedded
    assert data.report["identities"] == 3 and len(Gallery.open(gallery_name)) == 13
    top = Gallery.open(gallery_name).lookalikes(query(lfw("Serena_Williams", 1)), k=1)[0]
    assert top[0].name == "Serena Williams"
    assert remove(gallery_name, ["serena williams"]) == ["Serena Williams"]
    gallery = Gallery.open(gallery_name)
    assert len(gallery) == 10 and "Serena Williams" not in {i.name for i in gallery.identities}
    assert gallery.lookalikes(query(lfw("Tony_Blair", 1)), k=1)[0][0].thumbnail


def test_edits_touch_only_their_own_gallery_and_faceless_adds_change_nothing(tmp_path,
                                                                             gallery_name):
    other = f"{gallery_name}.b"  # its versions start with this gallery's name
    try:
        build(other, [enrol(tmp_path / "other", PEOPLE[2:3], photos=[2])])
        for n in range(3):  # enough versions of gallery_name for old ones to be pruned
            build(gallery_name, [enrol(tmp_path / f"v{n}", PEOPLE[:1], photos=[2])])
        assert [i.name for i in Gallery.open(other).identities] == ["Serena Williams"]
    finally:
        (home() / "galleries" / other).unlink(missing_ok=True)
    blank = tmp_path / "blank" / "Nobody"
    blank.mkdir(parents=True)
    Image.new("RGB", (200, 200), "grey").save(blank / "grey.jpg")
    before = Gallery.open(gallery_name).version
    data = add(gallery_name, [tmp_path / "blank"])
    assert data.report["no_face"] and Gallery.open(gallery_name).version == before


def test_interrupted_build_leaves_the_gallery_intact(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "v1", PEOPLE[:2])])

    def interrupt(stage, done, total):
        if stage == "thumbnails":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(gallery_name, [enrol(tmp_path / "v2", PEOPLE)], progress=interrupt)
    gallery = Gallery.open(gallery_name)
    assert len(gallery.identities) == 2
    assert gallery.lookalikes(query(lfw("Colin_Powell", 1)), k=1)[0][0].name == "Colin Powell"


def test_queries_never_fail_during_rebuilds(tmp_path, gallery_name):
    src = enrol(tmp_path / "src", PEOPLE[:3])
    build(gallery_name, [src])
    probe = query(lfw("Colin_Powell", 1))
    errors, answers = [], []
    done = threading.Event()

    def ask():
        while not done.is_set():
            try:
                answers.append(Gallery.open(gallery_name).lookalikes(probe, k=1)[0][0].name)
            except Exception as exc:  # noqa: BLE001 - any failure is the bug we look for
                errors.append(repr(exc))

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        for _ in range(3):
            build(gallery_name, [src])
    finally:
        done.set()
        thread.join()
    assert not errors and answers and set(answers) == {"Colin Powell"}


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_a_cli_writer_and_a_library_writer_lose_no_edit(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "first", PEOPLE[:1], photos=[2, 3])])
    by_cli = enrol(tmp_path / "cli", PEOPLE[1:2], photos=[2, 3])
    by_web = enrol(tmp_path / "web", PEOPLE[2:3], photos=[2, 3])
    cli = []

    def cli_adds_meanwhile(stage, done, total):
        # The library's add (what the web app calls) has read the gallery and is embedding
        # its photos: a CLI process adds another person now, and is done before it.
        if not cli:
            cli.append(lookalike("gallery", "add", gallery_name, "--from", str(by_cli)))

    add(gallery_name, [by_web], progress=cli_adds_meanwhile)
    assert cli and cli[0].returncode == 0, cli[0].stderr
    names = {i.name for i in Gallery.open(gallery_name).identities}
    assert names == {"Tony Blair", "Colin Powell", "Serena Williams"}


def test_a_writer_waits_for_a_live_one_and_clears_a_dead_ones_leftovers(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "first", PEOPLE[:1], photos=[2])])
    live = home() / "galleries" / f".{gallery_name}.20260101000000.0123abcd.building"
    holder = subprocess.Popen(  # another writer, in the middle of writing a version
        [sys.executable, "-c", HOLD_THE_LOCK, gallery_name, str(live)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "writing"
        source = enrol(tmp_path / "second", PEOPLE[1:2], photos=[2])
        waiter = threading.Thread(target=add, args=(gallery_name, [source]))
        waiter.start()
        waiter.join(timeout=5)
        assert waiter.is_alive() and live.is_dir()  # it waits; the live folder is left alone
        assert {i.name for i in Gallery.open(gallery_name).identities} == {"Tony Blair"}
    finally:
        holder.kill()  # dies mid-write: the kernel releases its lock, its folder is left
        holder.wait()
    waiter.join(timeout=120)
    assert not waiter.is_alive() and not live.exists()
    names = {i.name for i in Gallery.open(gallery_name).identities}
    assert names == {"Tony Blair", "Colin Powell"}


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from ml.galleries.store import gallery_lock
with gallery_lock(sys.argv[1]):
    Path(sys.argv[2]).mkdir()
    print("writing", flush=True)
    time.sleep(600)
"""


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_cli_match_json_lines_for_files_and_folders(tmp_path, gallery_name):
    build(gallery_name, [enrol(tmp_path / "src", PEOPLE)])
    probes = tmp_path / "probes"
    probes.mkdir()
    for person in PEOPLE[:2]:
        shutil.copy(lfw(person, 1), probes)
    (probes / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    result = lookalike("match", str(probes), str(lfw("Hugo_Chavez", 1)), "--gallery",
                       gallery_name, "--k", "2", "--json", "--sheet", str(tmp_path / "sheets"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 2 and "broken.jpg" in result.stderr  # reported, others go on
    by_image = {line["image"]: line for line in lines}
    assert "error" in by_image[str(probes / "broken.jpg")]
    for person, image in ((PEOPLE[0], probes / f"{PEOPLE[0]}_0001.jpg"),
                          (PEOPLE[1], probes / f"{PEOPLE[1]}_0001.jpg"),
                          ("Hugo_Chavez", lfw("Hugo_Chavez", 1))):
        face = by_image[str(image)]["faces"][0]
        assert len(face["box"]) == 4 and len(face["lookalikes"]) == 2
        best = face["lookalikes"][0]
        assert best["name"] == person.replace("_", " ") and 0 <= best["similarity"] <= 100
        assert set(best) >= {"name", "similarity", "actor", "photo"}
    # one picture per photo: a row per face, the face then its 2 lookalikes
    sheet = Image.open(tmp_path / "sheets" / "Hugo_Chavez_0001.jpg")
    assert sheet.size == (3 * 168 + 8, 208 + 8)


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_cli_gallery_commands_report_and_refuse_clearly(tmp_path, gallery_name):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = lookalike("gallery", "build", gallery_name, "--from", str(empty))
    assert result.returncode == 2 and "no faces found" in result.stderr
    assert "Traceback" not in result.stderr
    result = lookalike("match", str(lfw("Tony_Blair", 1)), "--gallery", gallery_name)
    assert result.returncode == 2 and "no gallery named" in result.stderr
    source = enrol(tmp_path / "s", PEOPLE[:2])
    result = lookalike("gallery", "build", gallery_name, "--from", str(source))
    assert result.returncode == 0 and "10 faces of 2 people" in result.stdout
    result = lookalike("gallery", "info", gallery_name, "--json")
    assert json.loads(result.stdout)["identities"] == 2
    assert gallery_name in lookalike("gallery", "list").stdout




def test_the_default_gallery_is_prepared_actors_first_and_rebuilt_when_stale(tmp_path,
                                                                              monkeypatch):
    fresh = tmp_path / "home"
    fresh.mkdir()
    (fresh / "weights").symlink_to(home() / "weights", target_is_directory=True)
    source = enrol(tmp_path / "source", ["Tom_Hanks", "Tony_Blair"], photos=[2, 3])
    (tmp_path / "actors.txt").write_text("Tom_Hanks\n")
    monkeypatch.setenv("LOOKALIKE_HOME", str(fresh))
    monkeypatch.setenv("LOOKALIKE_GALLERY_SOURCES", str(source))
    monkeypatch.setenv("LOOKALIKE_GALLERY_ACTORS", str(tmp_path / "actors.txt"))
    published = []
    gallery = prepare_default_gallery(
        lambda stage, done, total: published.append(stage == "indexing" and done == 1))
    assert sum(published) == 2  # the actors' version, then everyone's
    assert [i.name for i in gallery.identities] == ["Tom Hanks", "Tony Blair"]
    assert build_status()["state"] == "ready" and build_status()["done"] == 4

    meta = gallery.version / "meta.json"  # as if made by an older detector or template
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "fingerprint": "old"}))
    assert build_status()["state"] == "waiting"
    assert prepare_default_gallery().meta["fingerprint"] != "old"
    assert build_status()["state"] == "ready"

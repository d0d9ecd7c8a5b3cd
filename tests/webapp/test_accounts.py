"""Accounts: what a user stores is theirs alone. Two users in a real browser, API keys, a
sign-in brute force, an old data directory upgraded, and the same account flows on SQLite and
on a real PostgreSQL server.

Nothing is mocked: real galleries built from LFW photos, a real Celery worker for identify,
real Chromium, a real ``postgres`` started on 127.0.0.1 by the fixture below.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from ml.galleries.build import build
from ml.galleries.store import gallery_path, list_galleries
from ml.paths import home
from tests.support import enrol, lfw
from tests.webapp.support import (
    DESKTOP,
    PASSWORD,
    browser_sign_up,
    csrf_token,
    free_port,
    sign_up,
    wait_done,
)
from webapp import create_app
from webapp.core import jobs

VENV_BIN = Path(sys.executable).parent


def photos(person: str, numbers=range(2, 5)) -> list[tuple]:
    return [(open(lfw(person, n), "rb"), f"{person}_{n}.jpg") for n in numbers]


def versions(stored: str) -> list[Path]:
    return list((home() / "galleries").glob(f".{stored}.*"))


def remove_galleries(suffix: str) -> None:
    from ml.galleries.store import delete_gallery

    for stored in list_galleries():
        if stored.endswith(suffix):
            delete_gallery(stored)


# -- PostgreSQL, started by the test ---------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on a free 127.0.0.1 port for the session; yields a function
    that makes a fresh database and returns its SQLAlchemy URL."""
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    folder = Path(tempfile.mkdtemp(prefix="lookalike-pg-"))
    folder.chmod(0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as Debian's postgres user
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "lookalike"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(folder / "log"), "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start"], check=True, stdout=subprocess.DEVNULL)
    import psycopg

    def fresh_database() -> str:
        name = f"test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"postgresql://lookalike@127.0.0.1:{port}/postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://lookalike@127.0.0.1:{port}/{name}"

    yield fresh_database
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The accounts database: SQLite in the data directory, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.db'}"
    return request.getfixturevalue("postgres")()


def api_key(client, name: str = "script") -> str:
    """A new API key, made on the account page as a user would."""
    page = client.post("/account/keys", data={"csrf_token": csrf_token(client), "name": name})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html.split('<code id="new-key">', 1)[1].split("</code>", 1)[0]


# -- accounts, keys and ownership, on SQLite and PostgreSQL ----------------------------------


def test_accounts_keys_and_private_galleries(embedded_stack, database):
    """(With the embedded stack's real worker: a gallery is made by an enrolment job.)"""
    app = embedded_stack.app(DATABASE_URL=database)
    name = f"family-{uuid.uuid4().hex[:6]}"
    try:
        visitor = app.test_client()
        assert visitor.get("/api/v1/galleries").status_code == 401
        assert visitor.get("/galleries").headers["Location"].startswith("/login")
        first = visitor.get("/login")  # no account yet: the first visit offers sign-up
        assert first.status_code == 302 and "/signup" in first.headers["Location"]

        alice = sign_up(app.test_client(), "alice")
        bob = sign_up(app.test_client(), "bob")
        alice_is, bob_is = (c.get("/api/v1/account").get_json() for c in (alice, bob))
        assert (alice_is["username"], alice_is["admin"]) == ("alice", True)
        assert (bob_is["username"], bob_is["admin"]) == ("bob", False)
        bob_id, alice_id = bob_is["owner_id"], alice_is["owner_id"]
        assert bob_id != "bob" and len(bob_id) == 16  # random, never the name

        # A key acts as its user, with no cookie and no CSRF token; revoked, it is refused.
        key = api_key(bob)
        assert key.startswith("lk_") and len(key) > 40
        keyed = app.test_client()
        auth = {"Authorization": f"Bearer {key}"}
        assert keyed.get("/api/v1/account", headers=auth).get_json()["username"] == "bob"
        made = keyed.post("/api/v1/galleries", headers=auth, data={
            "name": name, "person": "Tony Blair", "photos": photos("Tony_Blair")})
        assert made.status_code == 202, made.get_json()
        status = wait_done(bob, made.get_json()["status_url"])  # the key's job is bob's
        assert status["status"] == "done", status
        assert alice.get(made.get_json()["status_url"]).status_code == 404
        assert gallery_path(f"{bob_id}@{name}").is_symlink()
        for wrong in (f"Bearer {key}x", "Bearer lk_nothing", "Basic Ym9iOnB3", "Bearer"):
            refused = keyed.get("/api/v1/account", headers={"Authorization": wrong})
            assert refused.status_code == 401 and "error" in refused.get_json()
        key_id = bob.get("/account").get_data(as_text=True).split("/account/keys/", 1)[1]
        revoke = bob.post(f"/account/keys/{key_id.split('/', 1)[0]}/revoke",
                          data={"csrf_token": csrf_token(bob)})
        assert revoke.status_code == 303
        assert keyed.get("/api/v1/account", headers=auth).status_code == 401

        # Bob's gallery is his alone: to alice (even the admin) it does not exist.
        assert name in [g["name"] for g in bob.get("/api/v1/galleries").get_json()["galleries"]]
        assert name not in [g["name"] for g in
                            alice.get("/api/v1/galleries").get_json()["galleries"]]
        assert alice.get(f"/api/v1/galleries/{name}").status_code == 404
        assert alice.get(f"/galleries/{name}").status_code == 404
        assert alice.delete(f"/api/v1/galleries/{name}").status_code == 404
        assert alice.post(f"/api/v1/galleries/{name}/people", data={
            "name": "X Y", "photos": photos("Colin_Powell", [2])}).status_code == 404
        thumb = bob.get(f"/api/v1/galleries/{name}/thumbs/tony_blair.jpg")
        assert thumb.status_code == 200
        assert alice.get(f"/api/v1/galleries/{name}/thumbs/tony_blair.jpg").status_code == 404
        assert visitor.get(f"/api/v1/galleries/{name}/thumbs/tony_blair.jpg").status_code == 404
        identify = alice.post("/api/v1/identify", data={
            "image": (open(lfw("Tony_Blair", 1), "rb"), "p.jpg"), "gallery": name})
        assert identify.status_code == 404
        # ... and alice may have a gallery of the same name: names clash only within a user.
        same = alice.post("/api/v1/galleries", data={
            "name": name, "person": "Colin Powell", "photos": photos("Colin_Powell")})
        assert same.status_code == 202, same.get_json()
        assert wait_done(alice, same.get_json()["status_url"])["status"] == "done"
        assert [p["name"] for p in bob.get(f"/api/v1/galleries/{name}").get_json()["people"]] \
            == ["Tony Blair"]

        # A signed-in user's job is theirs; a visitor's is reached by its id.
        job = bob.post("/api/v1/identify", data={
            "image": (open(lfw("Tony_Blair", 1), "rb"), "p.jpg"), "gallery": name})
        assert job.status_code == 202
        status_url = job.get_json()["status_url"]
        assert bob.get(status_url).status_code == 200
        assert alice.get(status_url).status_code == 404
        assert visitor.get(status_url).status_code == 404
        assert alice.delete(status_url).status_code == 404
        anonymous = visitor.post("/api/v1/analyze", data={
            "image": (open(lfw("Tony_Blair", 1), "rb"), "me.jpg")})
        assert anonymous.status_code == 202
        assert bob.get(anonymous.get_json()["status_url"]).status_code == 200

        # Deleting the account deletes its galleries and jobs at once, and the account.
        job_dir = Path(app.config["DATA_DIR"]) / "jobs" / job.get_json()["job"]
        assert job_dir.exists()
        wrong = bob.post("/account/delete", data={"csrf_token": csrf_token(bob),
                                                  "password": "not it"})
        assert wrong.status_code == 403 and gallery_path(f"{bob_id}@{name}").is_symlink()
        gone = bob.post("/account/delete", data={"csrf_token": csrf_token(bob),
                                                 "password": PASSWORD})
        assert gone.status_code == 303
        assert not gallery_path(f"{bob_id}@{name}").is_symlink()
        assert not versions(f"{bob_id}@{name}")
        assert not job_dir.exists()
        assert gallery_path(f"{alice_id}@{name}").is_symlink()  # nobody else's
        assert bob.get("/api/v1/account").status_code == 401
        login = app.test_client().post("/login", data={
            "csrf_token": "x", "username": "bob", "password": PASSWORD})
        assert login.status_code == 400  # no CSRF token: refused before anything else
    finally:
        remove_galleries(f"@{name}")


def test_sign_up_modes_and_require_login(tmp_path, web_gallery):
    def app(**config):
        return create_app({"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery,
                           "QUEUE": "cpu", "TESTING": True, **config})

    sign_up(app(SIGNUP="closed").test_client(), "admin1")  # the first account: always
    closed = app(SIGNUP="closed").test_client()
    form = {"csrf_token": csrf_token(closed), "username": "eve", "password": PASSWORD,
            "confirm": PASSWORD}
    refused = closed.post("/signup", data=form)
    assert refused.status_code == 403 and b"closed" in refused.data

    invite_app = app(SIGNUP="invite")
    admin = sign_up(invite_app.test_client(), "admin1")
    page = admin.post("/account/invites", data={"csrf_token": csrf_token(admin)})
    link = page.get_data(as_text=True).split('<code id="invite-link">', 1)[1].split("<", 1)[0]
    token = link.split("invite=", 1)[1]
    guest = invite_app.test_client()
    form["csrf_token"] = csrf_token(guest)
    assert guest.post("/signup", data={**form, "invite": "made-up"}).status_code == 403
    assert guest.post("/signup", data={**form, "invite": token}).status_code == 303
    again = invite_app.test_client()
    reused = again.post("/signup", data={**form, "csrf_token": csrf_token(again),
                                          "username": "mallory", "invite": token})
    assert reused.status_code == 403 and b"not valid" in reused.data

    private = app(REQUIRE_LOGIN=True).test_client()
    assert private.get("/").headers["Location"].startswith("/login")
    assert private.post("/api/v1/analyze").status_code == 401
    assert private.get("/login").status_code == 200
    sign_up(private, "admin1")
    assert private.get("/").status_code == 200


def test_a_guessing_run_is_locked_out_then_the_right_password_works(tmp_path, web_gallery):
    app = create_app({"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery, "QUEUE": "cpu",
                      "TESTING": True, "LOGIN_LIMIT": "3 per 4 seconds"})
    sign_up(app.test_client(), "alice")
    attacker = app.test_client()
    token = csrf_token(attacker)

    def attempt(password: str):
        return attacker.post("/login", data={"csrf_token": token, "username": "alice",
                                             "password": password})

    assert [attempt(f"guess-{n}").status_code for n in range(3)] == [401, 401, 401]
    locked = attempt(PASSWORD)  # even the right one, while locked
    assert locked.status_code == 429 and b"locked" in locked.data
    wait = int(locked.headers["Retry-After"])
    assert 1 <= wait <= 5  # the window, rounded up
    api = attacker.post("/login", data={"csrf_token": token, "username": "ALICE",
                                        "password": "x"})
    assert api.status_code == 429  # the account, whatever the case of its name
    time.sleep(wait + 0.5)
    assert attempt(PASSWORD).status_code == 303


def test_an_old_data_directory_upgrades_with_nothing_lost(tmp_path, web_gallery):
    """Galleries and jobs from before accounts: kept; the first admin owns the server's
    galleries. A gallery built with ``--owner NAME`` goes to nobody who merely signs up as NAME
    (anyone could): ``--owner`` takes the account id shown on /account."""
    legacy, owned = f"legacy-{uuid.uuid4().hex[:6]}", f"kids-{uuid.uuid4().hex[:6]}"
    source = enrol(tmp_path / "src", ["Tony_Blair"], photos=range(2, 4))
    data = tmp_path / "data"

    def cli_build(owner: str) -> None:
        cli = subprocess.run([str(VENV_BIN / "lookalike"), "gallery", "build", owned, "--from",
                              str(source), "--owner", owner], capture_output=True, text=True)
        assert cli.returncode == 0, cli.stderr

    try:
        build(legacy, [source])
        cli_build("carol")
        old_job = jobs.create(data, "analyze", [b"x"], {"k": 5}, ttl=3600)
        (old_job.dir / "meta.json").write_text(
            (old_job.dir / "meta.json").read_text().replace(', "owner": null', ""))
        assert not (data / "lookalike.db").exists()

        app = create_app({"DATA_DIR": data, "GALLERY": web_gallery, "QUEUE": "cpu",
                          "TESTING": True})
        assert (data / "lookalike.db").exists()
        visitor = app.test_client()
        assert visitor.get(f"/api/v1/jobs/{old_job.id}").status_code == 200
        admin = sign_up(app.test_client(), "admin1")
        seen = [g["name"] for g in admin.get("/api/v1/galleries").get_json()["galleries"]]
        assert legacy in seen and owned not in seen
        carol = sign_up(app.test_client(), "carol")
        seen = [g["name"] for g in carol.get("/api/v1/galleries").get_json()["galleries"]]
        assert owned not in seen and legacy not in seen  # the name alone gets nothing
        carol_id = carol.get("/api/v1/account").get_json()["owner_id"]
        assert carol_id in carol.get("/account").get_data(as_text=True)
        cli_build(carol_id)
        seen = [g["name"] for g in carol.get("/api/v1/galleries").get_json()["galleries"]]
        assert owned in seen and legacy not in seen
        # Started again (a restart, an upgrade): the same accounts, nothing lost.
        again = create_app({"DATA_DIR": data, "GALLERY": web_gallery, "QUEUE": "cpu",
                            "TESTING": True})
        assert sign_up(again.test_client(), "carol").get("/api/v1/account").get_json() == \
            {"username": "carol", "admin": False, "owner_id": carol_id}
        assert gallery_path(legacy).is_symlink()
        assert gallery_path(f"{carol_id}@{owned}").is_symlink()
    finally:
        remove_galleries(legacy)
        remove_galleries(f"@{owned}")


# -- two users in a real browser -------------------------------------------------------------


def test_two_users_in_a_browser(server, browser, embedded_stack):
    name = f"ours-{uuid.uuid4().hex[:6]}"
    alice = browser.new_context(viewport=DESKTOP).new_page()
    bob = browser.new_context(viewport=DESKTOP).new_page()
    try:
        browser_sign_up(alice, server, "carla")
        alice.goto(server + "/galleries")
        alice.fill("input[name=name]", name)
        alice.fill("input[name=person]", "Tony Blair")
        alice.set_input_files("input[name=photos]", [str(lfw("Tony_Blair", n))
                                                    for n in range(2, 5)])
        alice.click("text=Create the gallery")
        alice.wait_for_selector("#enrolled", timeout=90_000)  # the enrolment job, done
        alice.goto(server + f"/identify?gallery={name}")
        alice.set_input_files("input[name=image]", str(lfw("Tony_Blair", 1)))
        alice.click("text=Name the faces")
        alice.wait_for_selector(".identified .name", timeout=90_000)
        assert alice.locator(".identified .name").all_text_contents() == ["Tony Blair"]
        job_id = alice.url.rstrip("/").rsplit("/", 1)[1]
        carla = alice.request.get(server + "/api/v1/account").json()["owner_id"]

        browser_sign_up(bob, server, "dora")
        bob.goto(server + "/galleries")
        assert name not in bob.locator("main").inner_text()
        assert bob.goto(server + f"/galleries/{name}").status == 404
        assert bob.goto(server + f"/identify/{job_id}").status == 404
        assert bob.request.get(server + f"/api/v1/galleries/{name}").status == 404
        assert bob.request.delete(server + f"/api/v1/galleries/{name}").status == 404
        assert bob.request.get(server + f"/api/v1/jobs/{job_id}").status == 404
        assert gallery_path(f"{carla}@{name}").is_symlink()

        alice.goto(server + "/account")
        alice.fill("section.danger input[name=password]", PASSWORD)
        alice.click("#delete-account")
        alice.wait_for_selector(".flash:has-text('were deleted')")
        assert not gallery_path(f"{carla}@{name}").is_symlink()
        assert not versions(f"{carla}@{name}")
        assert not (embedded_stack.data_dir / "jobs" / job_id).exists()
        assert alice.locator("text=Sign in").count() >= 1
    finally:
        remove_galleries(f"@{name}")
        alice.context.close()
        bob.context.close()


def test_the_api_document_describes_bearer_keys(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["apiKey"]["description"]}
    assert "/account" in spec["paths"]

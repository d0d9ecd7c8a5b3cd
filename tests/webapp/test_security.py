"""The holes an outside probe found, each closed and kept closed (docs/security.md lists what
is promised and which test here proves it).

Nothing is mocked: real apps on real SQLite databases (two app instances on one store stand
for two gunicorn workers), a real redis-server, real galleries built from LFW photos, the CLI
run as a process. Clients at different addresses set ``REMOTE_ADDR`` as a server would.
"""

from __future__ import annotations

import sqlite3
import stat
import threading
import uuid
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ml.galleries.build import build
from ml.galleries.store import delete_gallery, gallery_path, list_galleries
from tests.support import enrol, lfw
from tests.webapp.support import PASSWORD, csrf_token, free_port, owner_id, sign_up
from webapp import create_app
from webapp.core import jobs, pages
from webapp.core.accounts import ApiKey, db

ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def make_app(tmp_path, web_gallery):
    """Apps on one data directory (and so one accounts database): ``make_app(**config)``."""
    def make(**config):
        return create_app({"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery,
                           "QUEUE": "cpu", "TESTING": True, **config})
    return make


def at(client, address: str):
    """The client, its requests coming from ``address``."""
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, username: str = "alice", password: str = PASSWORD):
    return client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                       "password": password})


def remove_galleries(suffix: str) -> None:
    for stored in list_galleries():
        if stored.endswith(suffix):
            delete_gallery(stored)


# -- 1. no open redirect after signing in ----------------------------------------------------

ELSEWHERE = ["/\t/evil.example", "/\t\t/evil.example/x", "/\r\n/evil.example", "/\n/evil.example",
             "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "//evil.example",
             "///evil.example", "https://evil.example/", "http:evil.example", "HTTPS://evil.example",
             "javascript:alert(1)", " //evil.example", "evil.example", "/\x00/evil.example",
             "//evil.example@lookalike", "https:/evil.example"]


def test_signing_in_never_sends_the_browser_to_another_site(make_app):
    app = make_app()
    sign_up(app.test_client(), "alice")
    for target in ELSEWHERE:
        client = app.test_client()
        response = client.post("/login", data={"csrf_token": csrf_token(client), "next": target,
                                               "username": "alice", "password": PASSWORD})
        assert response.status_code == 303
        assert response.headers["Location"] == "/galleries", repr(target)
    # the same through a link: /login?next=/%09/evil.example
    client = app.test_client()
    page = client.get("/login?next=/%09/evil.example").get_data(as_text=True)
    assert 'name="next" value="/\t/evil.example"' in page
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "alice",
                                           "password": PASSWORD, "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/galleries"
    # ... and a path on this site is kept, query and all
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "alice",
                                           "password": PASSWORD, "next": "/identify?gallery=a"})
    assert response.headers["Location"] == "/identify?gallery=a"
    signup = app.test_client()
    response = signup.post("/signup", data={"csrf_token": csrf_token(signup), "username": "bob",
                                            "password": PASSWORD, "confirm": PASSWORD,
                                            "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/galleries"


# -- 2. sessions: signing out ends them; signing in starts a fresh one -------------------------


def test_a_cookie_copied_before_signing_out_is_refused_after(make_app):
    app = make_app()
    alice = sign_up(app.test_client(), "alice")
    copied = alice.get_cookie("session").value
    assert alice.get("/api/v1/account").status_code == 200
    assert alice.post("/logout", data={"csrf_token": csrf_token(alice)}).status_code == 303
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/api/v1/account").status_code == 401
    assert replay.get("/account").headers["Location"].startswith("/login")
    # another browser's session of the same account is not touched by this sign-out
    other, third = sign_up(app.test_client(), "alice"), sign_up(app.test_client(), "alice")
    assert third.post("/logout", data={"csrf_token": csrf_token(third)}).status_code == 303
    assert third.get("/api/v1/account").status_code == 401
    assert other.get("/api/v1/account").get_json()["username"] == "alice"


def test_signing_in_starts_a_new_session_with_a_new_csrf_token(make_app):
    app = make_app()
    sign_up(app.test_client(), "alice")
    client = app.test_client()
    before = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by someone who set this browser's cookie"
    assert sign_in(client).status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("csrf") != before
    assert csrf_token(client) != before


# -- 3. nothing a user owns may be cached ------------------------------------------------------


def test_private_pictures_and_job_files_are_never_cached(make_app, web_gallery, tmp_path):
    app = make_app()
    alice = sign_up(app.test_client(), "alice")
    name = f"fam-{uuid.uuid4().hex[:6]}"
    try:  # alice's gallery, as her enrolment job writes it (test_people runs that job)
        build(f"{owner_id(alice)}@{name}", [enrol(tmp_path / "src", ["Tony_Blair"],
                                                  photos=range(2, 5))])
        thumb = alice.get(f"/api/v1/galleries/{name}/thumbs/tony_blair.jpg")
        assert thumb.status_code == 200 and thumb.headers["Cache-Control"] == "private, no-store"
        page = alice.get(f"/galleries/{name}")
        assert page.headers["Cache-Control"] == "private, no-store"
        # the shared gallery's pictures are the same for everyone: they may be cached
        shared = alice.get(f"/api/v1/galleries/{web_gallery}/thumbs/tom_hanks.jpg")
        assert shared.status_code == 200 and "public" in shared.headers["Cache-Control"]

        data_dir = Path(app.config["DATA_DIR"])
        for owner in (owner_id(alice), None):  # a user's job and a visitor's
            job = jobs.create(data_dir, "analyze", [b"x"], {}, ttl=600, owner=owner)
            jobs.write_file(job.dir / "photo.jpg", lfw("Tony_Blair", 1).read_bytes())
            client = alice if owner else app.test_client()
            for url in (f"/api/v1/jobs/{job.id}/files/photo.jpg",
                        f"/api/v1/jobs/{job.id}/files/photo.jpg?download=1",
                        f"/api/v1/jobs/{job.id}"):
                response = client.get(url)
                assert response.status_code == 200
                assert response.headers["Cache-Control"] == "private, no-store", url
    finally:
        remove_galleries(f"@{name}")


# -- 4. sign-in limits: nobody locks the owner out; every web process shares the counts -------


def test_a_guessing_run_locks_only_the_guesser_out(make_app):
    app = make_app(LOGIN_LIMIT="3 per minute")
    at(sign_up(app.test_client(), "alice"), ATTACKER)
    known = at(app.test_client(), ATTACKER)  # the owner's browser, behind the same address
    assert sign_in(known).status_code == 303
    assert known.post("/logout", data={"csrf_token": csrf_token(known)}).status_code == 303

    attacker = at(app.test_client(), ATTACKER)
    assert [sign_in(attacker, password=f"guess-{n}").status_code for n in range(3)] == \
        [401, 401, 401]
    locked = sign_in(attacker)  # even the right password, from the guesser's address
    assert locked.status_code == 429 and b"locked" in locked.data
    assert 1 <= int(locked.headers["Retry-After"]) <= 60

    assert sign_in(at(app.test_client(), OWNER)).status_code == 303  # elsewhere: not locked
    assert sign_in(known).status_code == 303  # a browser that signed in before: not locked
    assert sign_in(at(app.test_client(), ATTACKER)).status_code == 429  # a new one there: is


@pytest.fixture(params=["database", "redis"])
def store(request):
    """Where limit counts live: the accounts database (no Redis) or a real Redis server."""
    if request.param == "database":
        return {}
    import redis

    url = f"{request.getfixturevalue('redis_url')}/{int(uuid.uuid4().int % 15) + 1}"
    redis.Redis.from_url(url).flushdb()
    return {"BROKER_URL": url, "RESULT_BACKEND": url}


def test_limits_are_shared_by_every_web_process(make_app, store):
    """Two app instances on one store (two gunicorn workers): one count, one limit."""
    first = make_app(LOGIN_LIMIT="4 per minute", UPLOAD_LIMIT="3 per minute", **store)
    second = make_app(LOGIN_LIMIT="4 per minute", UPLOAD_LIMIT="3 per minute", **store)
    sign_up(first.test_client(), "alice")
    clients = [at(first.test_client(), ATTACKER), at(second.test_client(), ATTACKER)]
    answers = [sign_in(clients[n % 2], password=f"guess-{n}").status_code for n in range(4)]
    assert answers == [401, 401, 401, 401]
    assert sign_in(clients[0]).status_code == 429 and sign_in(clients[1]).status_code == 429

    uploads = [at(app.test_client(), OWNER) for app in (first, second)]
    statuses = [uploads[n % 2].post("/api/v1/analyze", data={
        "image": (open(lfw("Tony_Blair", 1), "rb"), "me.jpg")}).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_sign_in_is_refused_not_uncounted_while_the_limit_store_is_down(make_app):
    """Redis configured but not answering (nothing listens on its port): sign-in says to try
    again (503) rather than let guesses through uncounted, or fail with a 500."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(RATELIMIT_STORAGE_URI=url)
    client = app.test_client()
    with app.app_context():
        from webapp.core.accounts import create_user

        create_user("alice", PASSWORD)
    response = sign_in(client)
    assert response.status_code == 503 and b"try again" in response.data


def test_a_parallel_burst_of_guesses_gets_no_more_tries_than_the_limit(make_app):
    """Each attempt is counted before its password is checked: 12 guesses sent at the same
    moment get 3 checked, not 12."""
    app = make_app(LOGIN_LIMIT="3 per minute", LOGIN_IP_LIMIT="100 per minute")
    sign_up(app.test_client(), "alice")
    clients = [at(app.test_client(), ATTACKER) for _ in range(12)]
    tokens = [csrf_token(c) for c in clients]
    start, answers = threading.Barrier(len(clients)), []

    def guess(n: int) -> None:
        start.wait()
        answers.append(clients[n].post("/login", data={
            "csrf_token": tokens[n], "username": "alice", "password": f"guess-{n}"}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [401] * 3 + [429] * 9


# -- 5. passwords -----------------------------------------------------------------------------


def test_weak_passwords_are_refused_with_a_reason(make_app):
    client = make_app().test_client()
    token = csrf_token(client)
    for weak in ("12345678", "password", "Password1", "aaaaaaaaaaaa", "alice123", "short"):
        response = client.post("/signup", data={"csrf_token": token, "username": "alice",
                                                "password": weak, "confirm": weak})
        assert response.status_code == 400, weak
        text = response.get_data(as_text=True)
        assert "too easy to guess" in text or "at least 8 characters" in text
    assert sign_up(client, "alice").get("/api/v1/account").status_code == 200


def test_current_password_checks_are_limited(make_app):
    app = make_app(PASSWORD_LIMIT="3 per minute")
    thief = sign_up(app.test_client(), "alice")  # a session left open on a shared computer

    def change(current: str):
        return thief.post("/account/password", data={
            "csrf_token": csrf_token(thief), "current": current, "password": "a new long one",
            "confirm": "a new long one"})

    assert [change(f"guess-{n}").status_code for n in range(3)] == [403, 403, 403]
    assert change(PASSWORD).status_code == 429  # locked, even with the right one
    deleting = thief.post("/account/delete", data={"csrf_token": csrf_token(thief),
                                                   "password": PASSWORD})
    assert deleting.status_code == 429  # account deletion checks the same count
    assert thief.get("/api/v1/account").status_code == 200  # nothing was changed


def test_a_password_change_revokes_keys_and_other_sessions(make_app):
    app = make_app()
    alice = sign_up(app.test_client(), "alice")
    elsewhere = sign_up(app.test_client(), "alice")
    page = alice.post("/account/keys", data={"csrf_token": csrf_token(alice), "name": "s"})
    key = page.get_data(as_text=True).split('<code id="new-key">', 1)[1].split("</code>", 1)[0]
    auth = {"Authorization": f"Bearer {key}"}
    assert app.test_client().get("/api/v1/account", headers=auth).status_code == 200
    changed = alice.post("/account/password", data={
        "csrf_token": csrf_token(alice), "current": PASSWORD, "password": "another long one",
        "confirm": "another long one"}, follow_redirects=True)
    assert "1 API key revoked" in changed.get_data(as_text=True)
    assert app.test_client().get("/api/v1/account", headers=auth).status_code == 401
    assert elsewhere.get("/api/v1/account").status_code == 401
    assert alice.get("/api/v1/account").status_code == 200  # this session stays


# -- 6. ownership by account id; invites -----------------------------------------------------


def test_a_name_signed_up_again_inherits_nothing(make_app, tmp_path):
    """What a deleted account leaves behind (a gallery or job a request still running with its
    key wrote after the deletion) is not the next same-named account's."""
    app = make_app()
    probe, name = f"probe-{uuid.uuid4().hex[:6]}", f"late-{uuid.uuid4().hex[:6]}"
    dave = sign_up(app.test_client(), "dave")
    owner = owner_id(dave)
    build(f"{owner}@{probe}", [enrol(tmp_path / "probe", ["Tony_Blair"], photos=[2])])
    assert dave.post("/account/delete", data={"csrf_token": csrf_token(dave),
                                              "password": PASSWORD}).status_code == 303
    try:
        # what a request with dave's key, still running, wrote under dave's owner after that
        build(f"{owner}@{name}", [enrol(tmp_path / "src", ["Tony_Blair"], photos=range(2, 4))])
        late_job = jobs.create(Path(app.config["DATA_DIR"]), "identify", [b"x"], {}, ttl=600,
                               owner=owner)
        again = sign_up(app.test_client(), "dave")
        names = [g["name"] for g in again.get("/api/v1/galleries").get_json()["galleries"]]
        assert name not in names
        assert again.get(f"/api/v1/galleries/{name}").status_code == 404
        assert again.get(f"/api/v1/jobs/{late_job.id}").status_code == 404
    finally:
        remove_galleries(f"@{name}")
        remove_galleries(f"@{probe}")


def test_accounts_from_before_owner_ids_keep_their_galleries(tmp_path, web_gallery):
    """A database made by the first schema (accounts by name): upgraded in place, alice's
    galleries and jobs stay hers. (A guard that what worked keeps working: it passes on the
    code from before owner ids too.)"""
    data = tmp_path / "data"
    data.mkdir()
    name = f"fam-{uuid.uuid4().hex[:6]}"
    with sqlite3.connect(data / "lookalike.db") as old:
        old.executescript(OLD_SCHEMA)
        old.execute("INSERT INTO users VALUES (1, 'alice', ?, 1, 1, '2026-11-30 10:00:00')",
                    (PasswordHasher().hash(PASSWORD),))
    try:
        build(f"alice@{name}", [enrol(tmp_path / "src", ["Tony_Blair"], photos=range(2, 4))])
        job = jobs.create(data, "identify", [b"x"], {}, ttl=600, owner="alice")
        app = create_app({"DATA_DIR": data, "GALLERY": web_gallery, "QUEUE": "cpu",
                          "TESTING": True})
        alice = app.test_client()
        assert sign_in(alice).status_code == 303
        assert name in [g["name"] for g in alice.get("/api/v1/galleries").get_json()["galleries"]]
        assert alice.get(f"/api/v1/jobs/{job.id}").status_code == 200
    finally:
        remove_galleries(f"@{name}")


OLD_SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
INSERT INTO alembic_version VALUES ('0001_accounts');
CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(32) NOT NULL UNIQUE,
  password_hash VARCHAR(255) NOT NULL, is_admin BOOLEAN NOT NULL,
  session_version INTEGER NOT NULL, created DATETIME NOT NULL);
CREATE TABLE api_keys (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id)
  ON DELETE CASCADE, name VARCHAR(60) NOT NULL, shown VARCHAR(16) NOT NULL,
  key_hash VARCHAR(64) NOT NULL UNIQUE, created DATETIME NOT NULL, last_used DATETIME);
CREATE INDEX ix_api_keys_user_id ON api_keys (user_id);
CREATE TABLE invites (id INTEGER PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE,
  created_by INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created DATETIME NOT NULL, expires DATETIME NOT NULL, used BOOLEAN NOT NULL);
"""


def invite_link(admin) -> str:
    """A new invite link, asked for with a forged Host header."""
    token = csrf_token(admin)
    admin.set_cookie("session", admin.get_cookie("session").value, domain="evil.example")
    page = admin.post("/account/invites", data={"csrf_token": token},
                      base_url="http://evil.example")
    assert page.status_code == 200
    return page.get_data(as_text=True).split('<code id="invite-link">', 1)[1].split("<", 1)[0]


def test_invite_links_are_used_once_even_at_the_same_moment(make_app):
    app = make_app(SIGNUP="invite")
    admin = sign_up(app.test_client(), "admin1")
    token = invite_link(admin).split("invite=", 1)[1]
    clients = [app.test_client() for _ in range(8)]
    tokens = [csrf_token(c) for c in clients]
    start, answers = threading.Barrier(len(clients)), []

    def use(n: int) -> None:
        start.wait()
        answers.append(clients[n].post("/signup", data={
            "csrf_token": tokens[n], "username": f"guest{n}", "password": PASSWORD,
            "confirm": PASSWORD, "invite": token}).status_code)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [303] + [403] * 7


def test_invite_links_ignore_the_host_header_and_can_be_revoked(make_app):
    app = make_app(SIGNUP="invite")
    admin = sign_up(app.test_client(), "admin1")
    link = invite_link(admin)
    assert "evil.example" not in link and link.startswith("/signup?invite=")
    configured = make_app(SIGNUP="invite", BASE_URL="https://look.example/")
    link = invite_link(sign_up(configured.test_client(), "admin1"))
    assert link.startswith("https://look.example/signup?invite=")

    token = link.split("invite=", 1)[1]  # both apps share one database: the same admin
    page = admin.get("/account").get_data(as_text=True)
    assert page.count('action="/account/invites/') == 2  # two open invites, newest first
    revoke = page.split('action="/account/invites/', 1)[1].split('"', 1)[0]
    assert admin.post(f"/account/invites/{revoke}", data={
        "csrf_token": csrf_token(admin)}).status_code == 303
    assert admin.get("/account").get_data(as_text=True).count('action="/account/invites/') == 1
    guest = app.test_client()
    refused = guest.post("/signup", data={"csrf_token": csrf_token(guest), "username": "eve",
                                          "password": PASSWORD, "confirm": PASSWORD,
                                          "invite": token})
    assert refused.status_code == 403 and b"revoked" in refused.data


# -- 7. files on disk ------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_on_disk_are_readable_by_this_user_alone(make_app, tmp_path):
    app = make_app()
    alice = sign_up(app.test_client(), "alice")
    data = Path(app.config["DATA_DIR"])
    name = f"fam-{uuid.uuid4().hex[:6]}"
    try:
        queued = alice.post("/api/v1/analyze", data={
            "image": (open(lfw("Tony_Blair", 1), "rb"), "me.jpg")})
        assert queued.status_code == 202
        job = data / "jobs" / queued.get_json()["job"]
        assert mode(data) == mode(data / "jobs") == mode(job) == 0o700
        assert mode(data / "lookalike.db") == mode(job / "input-0") == 0o600
        assert mode(job / "meta.json") == 0o600
        # a gallery as a worker writes it (a worker makes the app too; test_people checks a
        # real worker's enrolment)
        build(f"{owner_id(alice)}@{name}", [enrol(tmp_path / "src", ["Tony_Blair"],
                                                  photos=range(2, 5))])
        version = gallery_path(f"{owner_id(alice)}@{name}").resolve()
        assert mode(version) == mode(version / "thumbs") == 0o700
        files = [p for p in version.rglob("*") if p.is_file()]
        assert files and {mode(p) for p in files} == {0o600}
    finally:
        remove_galleries(f"@{name}")


# -- 10. the sweep, and API keys' last use ---------------------------------------------------


def test_the_sweep_survives_folders_that_vanish_meanwhile(make_app):
    """A folder listed by the sweep and gone when it looks closer (deleted by "delete now" or
    its own request): a dangling link is exactly that, every time."""
    app = make_app()
    data = Path(app.config["DATA_DIR"])
    (data / "enrol").mkdir(exist_ok=True)
    (data / "enrol" / "0123abcd").symlink_to(data / "enrol" / "gone")
    (data / "jobs" / ("ab" * 16)).symlink_to(data / "jobs" / "gone")
    pages._last_sweep = 0.0  # the next request sweeps
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert pages._last_sweep > 0  # it did sweep
    assert jobs.sweep(data) == 0


def test_api_key_requests_do_not_write_on_every_request(make_app):
    app = make_app()
    alice = sign_up(app.test_client(), "alice")
    page = alice.post("/account/keys", data={"csrf_token": csrf_token(alice), "name": "poll"})
    key = page.get_data(as_text=True).split('<code id="new-key">', 1)[1].split("</code>", 1)[0]
    client = app.test_client()
    seen = []
    for _ in range(3):
        assert client.get("/api/v1/account",
                          headers={"Authorization": f"Bearer {key}"}).status_code == 200
        with app.app_context():
            seen.append(db.session.scalar(db.select(ApiKey.last_used)))
    assert seen[0] is not None and seen[0] == seen[1] == seen[2]


# -- 5. behind HTTPS -------------------------------------------------------------------------


def test_behind_a_tls_proxy_cookies_are_secure_and_addresses_are_the_clients(make_app):
    app = make_app(HTTPS=True, PROXIES=1, LOGIN_LIMIT="2 per minute")
    client = app.test_client()
    token = csrf_token(client)
    signed = client.post("/signup", data={"csrf_token": token, "username": "alice",
                                          "password": PASSWORD, "confirm": PASSWORD})
    cookies = signed.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)
    assert "max-age" in signed.headers["Strict-Transport-Security"]

    def guess(address: str):
        fresh = app.test_client()
        return fresh.post("/login", headers={"X-Forwarded-For": address}, data={
            "csrf_token": csrf_token(fresh), "username": "alice", "password": "guess"})

    assert [guess(ATTACKER).status_code for _ in range(3)] == [401, 401, 429]
    assert guess(OWNER).status_code == 401  # the proxy's address is not the client's

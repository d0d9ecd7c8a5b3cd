"""Settings: one typed, frozen object per layer, read in one place, and the README's
configuration table true to the code (every variable it reads, and the web app's defaults)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from webapp import create_app, settings

ROOT = Path(__file__).resolve().parents[2]
# How the code reads a variable: os.environ.get("X"), env("X"), env_int("X", ...), ...
READ = re.compile(r"(?:environ\.get|getenv|env|env_int|env_flag)\(\s*\"([A-Z][A-Z0-9_]*)\"")
NOT_OURS = {"CUDA_VISIBLE_DEVICES"}  # CUDA's own, honoured as torch does (ml.device)


def readme_table() -> dict[str, str]:
    """Variable → its default cell, from the README's configuration table."""
    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 4:
            for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
                rows[name] = cells[1]
    return rows


def test_every_variable_the_code_reads_is_in_the_readme_table():
    code = {name for folder in ("ml", "webapp", "bench") for path in (ROOT / folder).rglob("*.py")
            for name in READ.findall(path.read_text())} - NOT_OURS
    table = set(readme_table())
    assert code - table == set(), "read by the code, missing from the README's table"
    assert table - code == set(), "in the README's table, read by nothing"


def test_the_web_defaults_are_the_readmes(monkeypatch, tmp_path):
    for name in readme_table():
        if name.startswith("LOOKALIKE_") and name not in ("LOOKALIKE_HOME", "LOOKALIKE_DATA"):
            monkeypatch.delenv(name, raising=False)
    made = settings.from_environment(tmp_path)
    table = readme_table()
    expected = {"LOOKALIKE_MAX_UPLOAD_MB": made.max_upload_mb,
                "LOOKALIKE_MAX_VIDEO_MB": made.max_video_mb,
                "LOOKALIKE_MAX_VIDEO_SECONDS": int(made.max_video_seconds),
                "LOOKALIKE_JOB_TTL": made.job_ttl, "LOOKALIKE_SWEEP_INTERVAL": made.sweep_interval,
                "LOOKALIKE_VISIBILITY_TIMEOUT": made.visibility_timeout,
                "LOOKALIKE_GALLERY": made.gallery, "LOOKALIKE_SIGNUP": made.signup,
                "LOOKALIKE_REQUIRE_LOGIN": int(made.require_login),
                "LOOKALIKE_UPLOAD_LIMIT": made.upload_limit,
                "LOOKALIKE_LOGIN_LIMIT": made.login_limit,
                "LOOKALIKE_LOGIN_IP_LIMIT": made.login_ip_limit,
                "LOOKALIKE_K": f"{made.default_k}, {made.default_blur}, {made.max_faces}"}
    for name, value in expected.items():
        assert str(value) in table[name].replace("`", ""), name
    assert made.broker_url == f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    assert made.database_url == f"sqlite:///{tmp_path / 'lookalike.db'}"


def test_the_app_keeps_one_frozen_typed_settings_object(monkeypatch, tmp_path):
    app = create_app({"DATA_DIR": tmp_path / "data", "JOB_TTL": 8, "TESTING": True})
    made = settings.of(app)
    assert (made.job_ttl, app.config["JOB_TTL"], app.config["TESTING"]) == (8, 8, True)
    assert app.config["MAX_CONTENT_LENGTH"] == made.max_upload_mb * 1024 * 1024
    assert made.data_dir == tmp_path / "data" and made.secret_key
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.job_ttl = 9
    monkeypatch.setenv("LOOKALIKE_JOB_TTL", "an hour")
    with pytest.raises(ValueError, match="LOOKALIKE_JOB_TTL must be a whole number"):
        create_app({"DATA_DIR": tmp_path / "other"})

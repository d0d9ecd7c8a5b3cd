"""Portrait mode with the shipped U-Net on real human_seg photos: accuracy, sizes, memory, blur."""

from __future__ import annotations

import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from ml.paths import data_dir
from ml.portrait.model import blur_background, iou, portrait, portrait_mask, validation_stems
from tests.support import lookalike

HUMAN_SEG = data_dir() / "human_seg"


def pair(stem: str) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(Image.open(HUMAN_SEG / "images" / f"{stem}.jpg").convert("RGB"))
    return image, np.asarray(Image.open(HUMAN_SEG / "masks" / f"{stem}.png").convert("L"))


@pytest.fixture(scope="module")
def val_stems() -> list[str]:
    """Validation photos (never trained on) big enough to be a real upload, in a fixed order."""
    return [s for s in validation_stems() if min(pair(s)[0].shape[:2]) >= 400][:4]


def test_mask_matches_ground_truth_on_validation_photos(val_stems):
    scores = []
    for stem in val_stems:
        image, truth = pair(stem)
        mask = portrait_mask(image)
        assert mask.shape == truth.shape and mask.dtype == np.float32
        assert 0.0 <= mask.min() and mask.max() <= 1.0
        scores.append(iou(mask, truth))
    assert len(scores) == 4
    assert np.mean(scores) >= 0.85, scores  # an all-person or all-background mask scores < 0.5
    assert min(scores) >= 0.6, scores


def test_output_size_equals_input_for_odd_sizes(val_stems):
    image, _ = pair(val_stems[0])
    for h, w in ((217, 333), (401, 151), (97, 599)):
        odd = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        result = portrait(odd, strength=8)
        assert result.image.size == (w, h) and result.cutout.size == (w, h)
        assert result.image.mode == "RGB" and result.cutout.mode == "RGBA"
        assert result.mask.shape == (h, w)


def test_exif_rotated_jpeg_keeps_orientation(val_stems, tmp_path):
    image, _ = pair(val_stems[0])
    upright = portrait_mask(image)
    # stored sideways (rotated 90° clockwise), with orientation 6 = "rotate 90° CW to view"
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(image, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    stored.save(path, quality=95, exif=exif)
    assert Image.open(path).size == (image.shape[0], image.shape[1])
    result = portrait(path)
    assert result.image.size == (image.shape[1], image.shape[0])
    assert result.mask.shape == image.shape[:2]
    assert iou(result.mask, upright >= 0.5) >= 0.9  # the same person, the same way up


def test_blur_leaves_person_pixels_unchanged_and_has_no_halo(val_stems):
    image, truth = pair(val_stems[1])
    mask = portrait_mask(image)
    out = blur_background(image, mask, strength=20, bokeh=True)
    person = mask == 1.0
    assert person.sum() > 1000
    assert np.array_equal(out[person], image[person])
    assert np.abs(out.astype(int) - image).mean() > 1.0  # the background did get blurred
    # Halo: paint the person pure red; with the true mask, no red may reach the background.
    red = image.copy()
    person_true = truth > 127
    red[person_true] = (255, 0, 0)
    hard = person_true.astype(np.float32)
    ours = blur_background(red, hard, strength=20)
    ring = (cv2.dilate(person_true.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & ~person_true
    redness = lambda a: (a[..., 0].astype(int) - a[..., 1:].mean(-1))[ring].mean()  # noqa: E731
    naive = cv2.GaussianBlur(red.astype(np.float32), (0, 0), 20 * max(red.shape[:2]) / 2000)
    naive[person_true] = red[person_true]
    assert redness(ours) < redness(image) + 5 < redness(naive) - 20


def test_huge_photo_completes_in_bounded_memory():
    """24 megapixels: peak memory above the decoded photo stays a few bytes per pixel."""
    code = """
import resource, sys, cv2, numpy as np
from PIL import Image
from ml.portrait.model import portrait
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
small = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
portrait(small)  # model loaded, warm
big = cv2.resize(small, (6000, 4000), interpolation=cv2.INTER_LINEAR)
before = rss()
result = portrait(big)
assert result.image.size == (6000, 4000) and result.mask.shape == (4000, 6000)
print(round(rss() - before))
"""
    run = subprocess.run([sys.executable, "-c", code, str(HUMAN_SEG / "images" / "1.jpg")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    grown_mb = int(run.stdout.split()[-1])
    # the results alone (RGB + RGBA + float mask) are 264 MB; float64 full-size copies would
    # need 576 MB each
    assert grown_mb < 800, grown_mb


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_cli_writes_jpeg_png_and_cutout(val_stems, tmp_path):
    source = HUMAN_SEG / "images" / f"{val_stems[0]}.jpg"
    size = Image.open(source).size
    jpg, png = tmp_path / "out.jpg", tmp_path / "sub" / "out.png"
    result = lookalike("portrait", str(source), str(jpg), "--blur", "15", "--cutout")
    assert result.returncode == 0, result.stderr
    with Image.open(jpg) as im:
        assert im.format == "JPEG" and im.size == size
    with Image.open(tmp_path / "out.cutout.png") as cut:
        assert cut.format == "PNG" and cut.mode == "RGBA" and cut.size == size
        alpha = np.asarray(cut)[..., 3]
        assert (alpha == 0).mean() > 0.05 and (alpha == 255).mean() > 0.05
    result = lookalike("portrait", str(source), str(png), "--bokeh",
                       "--cutout", str(tmp_path / "person.png"))
    assert result.returncode == 0, result.stderr
    with Image.open(png) as im:
        assert im.format == "PNG" and im.mode == "RGB" and im.size == size
    assert Image.open(tmp_path / "person.png").mode == "RGBA"


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    result = lookalike("portrait", str(text), str(tmp_path / "out.jpg"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not an image" in result.stderr
    result = lookalike("portrait", str(HUMAN_SEG / "images" / "1.jpg"), str(tmp_path / "o.gif"))
    assert result.returncode == 2 and ".png" in result.stderr


@pytest.mark.integration  # runs the CLI as a process, or is slow
def test_cli_evaluate_prints_per_image_and_miou(val_stems, tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for stem in val_stems[:2]:
        (images / f"{stem}.jpg").symlink_to(HUMAN_SEG / "images" / f"{stem}.jpg")
        (masks / f"{stem}.png").symlink_to(HUMAN_SEG / "masks" / f"{stem}.png")
    result = lookalike("portrait", "evaluate", "--images", str(images), "--masks", str(masks))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"{val_stems[0]}\tiou=")
    match = re.fullmatch(r"miou=(0\.\d{4}|1\.0000) n=2", lines[-1])
    assert match and float(match.group(1)) >= 0.8

"""Portrait mode's background blur, without a halo, and the cut-out: from a photo and its
person mask, with no network (the web app re-blurs a stored mask in the request; no torch here).

The blur never mixes person colours into the background: blurring the whole photo and pasting
the person back leaves a glowing rim (the person's colours smeared outward). Here only
background pixels are blurred, by normalised convolution (blur(image * w) / blur(w) with
w = 1 - mask), and the result is alpha-composited under the person with the soft mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

REFINE_SIDE = 2048  # guided filter and background blur work at most at this size
BAND = 256  # rows per strip when touching full-size float data (bounds memory on huge photos)


def _kernel(strength: int, bokeh: bool) -> np.ndarray | None:
    """A disc (bokeh) kernel of radius ``strength``; None for the Gaussian."""
    if not bokeh:
        return None
    r = max(1, int(strength))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = ((xx * xx + yy * yy) <= r * r + 0.5).astype(np.float32)
    return disc / disc.sum()


def _blur(a: np.ndarray, strength: int, kernel: np.ndarray | None) -> np.ndarray:
    if kernel is not None:
        return cv2.filter2D(a, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
    sigma = max(0.5, strength / 2)
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _background(image: np.ndarray, mask: np.ndarray, radius: float,
                bokeh: bool) -> np.ndarray:
    """The background alone, blurred: blur(image * w) / blur(w), w = 1 - mask, as uint8.

    Large blurs run on a copy shrunk by ~radius/8, and never larger than ``REFINE_SIDE`` (a
    blurred background loses nothing by it, and a 24 MP photo stays fast and small in memory).
    The shrink averages image * w and w, not the image, so person colours never enter the
    background even in the shrunk copy. One channel at a time: no full-size float RGB stack.
    """
    h, w = mask.shape
    shrink = max(1.0, radius / 8, max(h, w) / REFINE_SIDE)
    sw, sh = max(1, round(w / shrink)), max(1, round(h / shrink))
    r = max(1, round(radius / shrink))
    kernel = _kernel(r, bokeh)
    weight_u8 = np.clip((1.0 - mask) * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def small(a: np.ndarray, top: float) -> np.ndarray:
        if shrink == 1:
            return a.astype(np.float32) / top
        return cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) / top

    # uint16 keeps the products exact (255 * 255 < 65536) at 2 bytes per full-size pixel
    weight = _blur(small(weight_u8.astype(np.uint16) * np.uint16(257), 65535.0), r, kernel)
    ok = weight > 1e-3
    weight = np.maximum(weight, 1e-3)
    out = np.empty((sh, sw, 3), np.uint8)
    for c in range(3):
        channel = image[:, :, c]
        premult = cv2.multiply(channel, weight_u8, dtype=cv2.CV_16U)
        colour = _blur(small(premult, 255.0), r, kernel) / weight
        del premult
        # where the whole neighbourhood is person: a plain blur (hidden under the person)
        plain = _blur(small(channel, 1.0), r, kernel)
        out[:, :, c] = np.clip(np.where(ok, colour, plain) + 0.5, 0, 255).astype(np.uint8)
    return out


def blur_background(image: np.ndarray, mask: np.ndarray, strength: int = 12,
                    bokeh: bool = False) -> np.ndarray:
    """Blur only the background of an RGB uint8 photo and composite the person on top.

    ``strength`` is the blur radius in pixels for a 1000 px photo (scaled with the photo's size,
    so a phone photo and its thumbnail look alike); ``bokeh`` uses a disc instead of a Gaussian.
    Background colour at each pixel = blur(image * w) / blur(w), w = 1 - mask: the person never
    leaks into it. Pixels where ``mask == 1`` are returned unchanged.
    """
    image = np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("blur_background expects an (H, W, 3) uint8 RGB array")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match image {image.shape[:2]}")
    if strength <= 0:
        return image.copy()
    h, w = mask.shape
    mask = mask.astype(np.float32, copy=False)
    background = _background(image, mask, strength * max(h, w) / 1000, bokeh)
    sh, sw = background.shape[:2]
    out = np.empty_like(image)
    for top in range(0, h, BAND):  # composite in strips: bounded float memory on huge photos
        rows = slice(top, min(h, top + BAND))
        if (sh, sw) != (h, w):
            ys = (np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5) / h * sh - 0.5
            xs = (np.arange(w, dtype=np.float32) + 0.5) / w * sw - 0.5
            mx, my = np.meshgrid(xs, ys)
            bg = cv2.remap(background, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            bg = background[rows]
        a = mask[rows, :, None]
        comp = image[rows].astype(np.float32) * a + bg.astype(np.float32) * (1.0 - a)
        strip = np.clip(comp + 0.5, 0, 255).astype(np.uint8)
        sure = mask[rows] >= 1.0
        strip[sure] = image[rows][sure]
        out[rows] = strip
    return out


def cutout(image: np.ndarray, mask: np.ndarray) -> Image.Image:
    """The person on a transparent background (alpha = the soft mask)."""
    alpha = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([image, alpha]), "RGBA")

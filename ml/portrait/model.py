"""Portrait mode: a U-Net person mask and a background blur without a halo.

The mask comes from a ``segmentation_models_pytorch`` U-Net (MobileNetV2 encoder) that this
project trains on ``human_seg`` (``ml/training/portrait.py``, model card ``docs/portrait.md``).
It predicts at ``SIZE`` px (the photo letterboxed into a square), the soft mask is upsampled to
the full photo and its edges are snapped to the photo's own edges with a guided filter, so hair
is not chopped at the network's low resolution.

The blur never mixes person colours into the background: blurring the whole photo and pasting
the person back leaves a glowing rim (the person's colours smeared outward). Here only
background pixels are blurred, by normalised convolution (blur(image * w) / blur(w) with
w = 1 - mask), and the result is alpha-composited under the person with the soft mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ml.device import default_device
from ml.images import ImageInput, load_image

WEIGHTS = Path(__file__).parent.parent / "weights" / "portrait_unet.pt"
SIZE = 256  # the network's input (letterboxed); best of 224-384 on validation (docs/portrait.md)
# Test-time flip: the validation mIoU 0.8709 -> 0.8756 and, as a check on photos the split was
# not chosen on, the 200 training photos' 0.9114 -> 0.9146 (better on 138 of 200).
FLIP = True
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
PAD = tuple(int(round(v)) for v in MEAN)  # letterbox colour: zero after normalisation
DECODER_CHANNELS = (128, 64, 32, 16, 16)
REFINE_SIDE = 2048  # guided filter and background blur work at most at this size
BAND = 256  # rows per strip when touching full-size float data (bounds memory on huge photos)


def build_model(decoder_channels: tuple[int, ...] = DECODER_CHANNELS) -> torch.nn.Module:
    """The U-Net; ImageNet weights are loaded into its encoder by the trainer, not here."""
    import segmentation_models_pytorch as smp

    return smp.Unet("mobilenet_v2", encoder_weights=None,
                    decoder_channels=tuple(decoder_channels), classes=1)


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> torch.nn.Module:
    """The shipped (or given) checkpoint, fp16 on disk → float32, once per process."""
    checkpoint = torch.load(Path(path) if path else WEIGHTS, map_location="cpu",
                            weights_only=True)
    model = build_model(tuple(checkpoint["config"]["decoder_channels"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in checkpoint["state_dict"].items()})
    return model.eval().to(default_device())


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Fit ``image`` into ``size`` x ``size`` keeping its aspect; return it and (x, y, w, h)."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    x, y = (size - nw) // 2, (size - nh) // 2
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = PAD
    canvas[y : y + nh, x : x + nw] = resized
    return canvas, (x, y, nw, nh)


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) RGB → normalised float (N, 3, H, W)."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).float()
    x = (x - torch.from_numpy(MEAN)) / torch.from_numpy(STD)
    return x.permute(0, 3, 1, 2).contiguous()


def predict_small(image: np.ndarray, model: torch.nn.Module | None = None,
                  size: int | None = None, flip: bool = FLIP,
                  ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The network's soft mask of the letterboxed photo and where the photo sits in it;
    ``flip``: the mean of the photo's mask and its mirror image's (one batch of two)."""
    model = model or load_model()
    size = size or SIZE
    canvas, box = letterbox(image, size)
    batch = np.stack([canvas, canvas[:, ::-1]]) if flip else canvas[None]
    device = next(model.parameters()).device
    with torch.inference_mode():
        probs = torch.sigmoid(model(to_tensor(batch).to(device)))[:, 0].float().cpu().numpy()
    prob = (probs[0] + probs[1][:, ::-1]) / 2 if flip else probs[0]
    x, y, w, h = box
    return prob[y : y + h, x : x + w], box


def upsample(small: np.ndarray, width: int, height: int) -> np.ndarray:
    """The network's soft mask, resized to the full photo (float32)."""
    return cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int,
                  eps: float = 1e-3) -> np.ndarray:
    """He et al.'s guided filter with a grey guide (float32 in [0, 1]), built on box filters.

    The output is locally a linear function of the guide, so the mask's edge moves onto the
    photo's own edges (hair strands, shoulders) instead of the network's blocky upsampled one.
    """
    k = (2 * radius + 1, 2 * radius + 1)

    def box(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    a = box(guide * src) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a /= var + eps
    b = mean_p - a * mean_i
    del var
    return box(a) * guide + box(b)


def refine(image: np.ndarray, small: np.ndarray) -> np.ndarray:
    """The network's soft mask at the photo's full size, edges snapped by a guided filter.

    The filter runs on a working copy at most ``REFINE_SIDE`` px on the long side (its output is
    as smooth as the guide there, so nothing visible is lost) and the result is resized to the
    photo, which bounds memory and time on 24-megapixel photos. Radius: ~2 network pixels.
    """
    h, w = image.shape[:2]
    scale = min(1.0, REFINE_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    guide = image if scale == 1 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    guide = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    src = upsample(small, *size)
    radius = max(2, round(2 * max(size) / max(small.shape)))
    out = guided_filter(guide, src, radius)
    np.clip(out, 0.0, 1.0, out=out)
    # where the network is sure, keep it sure: no faint fringes far from the person
    out[src < 0.02] = 0.0
    out[src > 0.98] = 1.0
    return out if scale == 1 else upsample(out, w, h)


def portrait_mask(image: ImageInput, model: torch.nn.Module | None = None,
                  size: int | None = None) -> np.ndarray:
    """The person's soft mask, float32 (H, W) in [0, 1], at the photo's full (upright) size."""
    array = load_image(image)
    small, _ = predict_small(array, model, size)
    return refine(array, small)


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


@dataclass
class Portrait:
    image: Image.Image  # RGB, the background blurred
    cutout: Image.Image  # RGBA, the person on transparency
    mask: np.ndarray  # float32 (H, W) in [0, 1]


def cutout(image: np.ndarray, mask: np.ndarray) -> Image.Image:
    """The person on a transparent background (alpha = the soft mask)."""
    alpha = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([image, alpha]), "RGBA")


def portrait(image: ImageInput, strength: int = 12, bokeh: bool = False) -> Portrait:
    """The whole portrait mode for one photo: mask, blurred photo, cut-out (all full size)."""
    array = load_image(image)
    mask = portrait_mask(array)
    blurred = blur_background(array, mask, strength, bokeh)
    return Portrait(Image.fromarray(blurred), cutout(array, mask), mask)


def iou(mask: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of a soft mask (thresholded) and a 0/255 or boolean truth."""
    p, t = mask >= threshold, truth > (127 if truth.dtype == np.uint8 else 0.5)
    union = int(np.count_nonzero(p | t))
    return 1.0 if union == 0 else int(np.count_nonzero(p & t)) / union


def validation_stems(path: str | None = None) -> list[str]:
    """The human_seg photos the shipped model never trained on (saved in its checkpoint)."""
    checkpoint = torch.load(Path(path) if path else WEIGHTS, map_location="cpu",
                            weights_only=True)
    return list(checkpoint["validation_stems"])

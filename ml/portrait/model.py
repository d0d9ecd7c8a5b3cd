"""Portrait mode: a U-Net person mask and a background blur without a halo.

The mask comes from a ``segmentation_models_pytorch`` U-Net (MobileNetV2 encoder) that this
project trains on ``human_seg`` (``ml/training/portrait.py``, model card ``docs/portrait.md``).
It predicts at ``SIZE`` px (the photo letterboxed into a square), the soft mask is upsampled to
the full photo and its edges are snapped to the photo's own edges with a guided filter, so hair
is not chopped at the network's low resolution.

The blur itself (``ml.portrait.blur``) needs no network: the web app re-blurs a stored mask.
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
from ml.portrait.blur import REFINE_SIDE, blur_background, cutout

WEIGHTS = Path(__file__).parent.parent / "weights" / "portrait_unet.pt"
SIZE = 256  # the network's input (letterboxed); best of 224-384 on validation (docs/portrait.md)
# Test-time flip: the validation mIoU 0.8709 -> 0.8756 and, as a check on photos the split was
# not chosen on, the 200 training photos' 0.9114 -> 0.9146 (better on 138 of 200).
FLIP = True
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
PAD = tuple(int(round(v)) for v in MEAN)  # letterbox colour: zero after normalisation
DECODER_CHANNELS = (128, 64, 32, 16, 16)


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


@dataclass
class Portrait:
    image: Image.Image  # RGB, the background blurred
    cutout: Image.Image  # RGBA, the person on transparency
    mask: np.ndarray  # float32 (H, W) in [0, 1]


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

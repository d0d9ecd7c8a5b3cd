"""Training the body re-identification network (``ml.bodies``) on CUHK03.

- Data: CUHK03 as extracted by ``github:manideep2510/CUHK03_dataset`` (``$LOOKALIKE_CUHK03``,
  default ``$LOOKALIKE_HOME/cuhk03``): ``labeled/train`` and ``detected/train`` (743 people, the
  hand-drawn and the detector's boxes of the same photos), files ``IIII_KK.jpg`` (person IIII,
  KK 00-04 one camera, 05-09 the other). ``val/`` (100 other people) is where it is measured
  (``bench/reid.py``); nothing is chosen on it (the final epoch is kept). ``CUHK01/`` is reserved
  for an independent evaluation and is never read.
- Recipe: MobileNetV2 from ImageNet (the wheel ``ml.training.portrait`` takes it from), batches
  of 16 people x 4 crops; label-smoothed identity loss on a classifier over the 743 people, a
  batch-hard triplet loss, and optionally a teacher's relations: the student's cosine
  similarities within the batch pulled towards the teacher's (OSNet x0.25 trained on MSMT17, an
  ONNX file run by onnxruntime at training time only; ``onnx_reid``). Augmentation:
  flip, pad-and-crop, colour jitter, random erasing. AdamW, warm-up then cosine; bf16 where fast.
- Resumable: the whole state is saved after every epoch (``--resume``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.bodies.embedding import WEIGHTS, embed_bodies
from ml.bodies.network import DIM, INPUT_SIZE, BodyNet
from ml.device import default_device
from ml.files import atomic_path
from ml.paths import home
from ml.progress import Progress, no_progress
from ml.training import autocast, bf16_is_fast, resumed, save_state
from ml.training.portrait import mobilenet_v2_imagenet

PEOPLE_PER_BATCH, CROPS_PER_PERSON = 16, 4
TRIPLET_MARGIN = 0.3
LABEL_SMOOTHING = 0.1
FETCH = ("fetch github:manideep2510/CUHK03_dataset, then git --git-dir=DIR archive HEAD labeled "
         "detected | tar -x -C $LOOKALIKE_CUHK03 (never CUHK01: it is reserved)")


def cuhk03_dir() -> Path:
    return Path(os.environ.get("LOOKALIKE_CUHK03") or home() / "cuhk03")


def cuhk03(split: str, kinds: tuple[str, ...] = ("labeled", "detected")) -> tuple[list[Path],
                                                                                 np.ndarray,
                                                                                 np.ndarray]:
    """Paths, person ids and camera (0 or 1) of every crop of ``split`` (train or val)."""
    if split not in ("train", "val"):
        raise ValueError("CUHK03 splits: train, val")
    paths = sorted(p for kind in kinds for p in (cuhk03_dir() / kind / split).glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"CUHK03 {split} is not in {cuhk03_dir()}: {FETCH}")
    person = np.array([int(p.stem.split("_")[0]) for p in paths])
    camera = np.array([int(int(p.stem.split("_")[1]) >= 5) for p in paths])
    return paths, person, camera


def load_crops(paths: list[Path]) -> np.ndarray:
    """Every crop at the network's input size, uint8 NHWC RGB (about 1.4 GB for 14k crops)."""
    height, width = INPUT_SIZE
    out = np.empty((len(paths), height, width, 3), np.uint8)
    for i, path in enumerate(paths):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        out[i] = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return out


def onnx_reid(model: Path | bytes, bgr: bool = False, threads: int | None = None,
              batch: int = 64) -> Callable[[np.ndarray], np.ndarray]:
    """An ONNX re-id network (NCHW float at 256x128 in) as uint8 NHWC RGB crops -> unit vectors:
    ImageNet-normalised RGB like OSNet's, or ``bgr`` 0-255 like Intel's; a network whose batch is
    fixed at 1 gets one crop a call. Teachers and benchmark peers only: the app never runs it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                   providers=["CPUExecutionProvider"])
    source = session.get_inputs()[0]
    step = 1 if source.shape[0] == 1 else batch
    mean = np.array([0.485, 0.456, 0.406], np.float32) * 255
    std = np.array([0.229, 0.224, 0.225], np.float32) * 255

    def embed(crops: np.ndarray) -> np.ndarray:
        x = (crops[..., ::-1].astype(np.float32) if bgr
             else (crops.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2)
        out = np.concatenate([session.run(None, {source.name: np.ascontiguousarray(
            x[i:i + step])})[0] for i in range(0, len(x), step)]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)

    return embed


def batches(person: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of P x K batches: every person once, their crops drawn K at a time (with
    replacement when they have fewer)."""
    people = rng.permutation(np.unique(person))
    rows = {p: np.flatnonzero(person == p) for p in people}
    out = []
    for start in range(0, len(people) - PEOPLE_PER_BATCH + 1, PEOPLE_PER_BATCH):
        chosen = people[start:start + PEOPLE_PER_BATCH]
        out.append(np.concatenate([rng.choice(rows[p], CROPS_PER_PERSON,
                                              replace=len(rows[p]) < CROPS_PER_PERSON)
                                   for p in chosen]))
    return out


def augment(crops: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip, pad 10 px and crop back, colour jitter, random erasing (half the crops)."""
    height, width = INPUT_SIZE
    out = np.empty_like(crops)
    for i, crop in enumerate(crops):
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        padded = cv2.copyMakeBorder(np.ascontiguousarray(crop), 10, 10, 10, 10,
                                    cv2.BORDER_REFLECT)
        y, x = rng.integers(0, 21, 2)
        crop = padded[y:y + height, x:x + width].astype(np.float32)
        crop = crop * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)  # contrast, brightness
        grey = crop.mean(axis=2, keepdims=True)
        crop = grey + (crop - grey) * rng.uniform(0.8, 1.2)  # saturation
        if rng.random() < 0.5:
            area = rng.uniform(0.02, 0.3) * height * width
            aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
            h = int(min(height, np.sqrt(area * aspect)))
            w = int(min(width, np.sqrt(area / aspect)))
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            crop[top:top + h, left:left + w] = rng.uniform(0, 255, (h, w, 3))
        out[i] = np.clip(crop, 0, 255).astype(np.uint8)
    return out


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """For each crop: its farthest same-person crop against its nearest other-person crop."""
    dist = torch.cdist(features, features)
    same = labels[:, None] == labels[None, :]
    hardest_positive = (dist * same).max(dim=1).values
    hardest_negative = dist.masked_fill(same, float("inf")).min(dim=1).values
    return F.relu(hardest_positive - hardest_negative + TRIPLET_MARGIN).mean()


def relation_loss(features: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """How far the student's cosine similarities within the batch are from the teacher's."""
    student = F.normalize(features, dim=1)
    return F.mse_loss(student @ student.T, teacher @ teacher.T)


def train(out: Path = WEIGHTS, epochs: int = 12, lr: float = 1e-3, seed: int = 0,
          teacher: Path | None = None, relation: float = 1.0, bf16: bool | None = None,
          resume: bool = False, progress: Progress = no_progress, log=print) -> dict:
    """Train on CUHK03 train, save the final weights (fp16) at ``out``; return the last
    epoch's figures. ``teacher``: an ONNX re-id network whose relations the student learns
    (weight ``relation``); None: identity and triplet losses alone."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = default_device()
    paths, person, _ = cuhk03("train")
    ids = {p: i for i, p in enumerate(np.unique(person))}
    labels = np.array([ids[p] for p in person])
    log(f"CUHK03 train: {len(paths)} crops of {len(ids)} people; device {device}")
    crops = load_crops(paths)
    targets = None
    if teacher is not None:
        log(f"teacher {teacher.name}: embedding the training crops once")
        targets = torch.from_numpy(onnx_reid(teacher)(crops))
    bf16 = bf16_is_fast(device) if bf16 is None else bf16
    config = {"dim": DIM, "input": list(INPUT_SIZE)}
    recipe = {"epochs": epochs, "lr": lr, "seed": seed, "batch": [PEOPLE_PER_BATCH,
                                                                  CROPS_PER_PERSON],
              "teacher": teacher.name if teacher else None,
              "relation": relation if teacher else 0.0, "bf16": bf16,
              "data": "CUHK03 labeled/train + detected/train"}
    net = BodyNet().to(device).to(memory_format=torch.channels_last)
    net.features.load_state_dict({k.removeprefix("features."): v
                                  for k, v in mobilenet_v2_imagenet(log).items()
                                  if k.startswith("features.")})
    classifier = nn.Linear(DIM, len(ids), bias=False).to(device)
    model = nn.ModuleDict({"net": net, "classifier": classifier})
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * (len(ids) // PEOPLE_PER_BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps,
                                                   pct_start=0.1)
    history, first, state = resumed(out, config, recipe, model, optimiser, schedule, resume, log)
    if state is not None:
        rng.bit_generator.state = state["rng"]
    for epoch in range(first, epochs + 1):
        model.train()
        start, totals = time.time(), np.zeros(4)
        plan = batches(labels, rng)
        for step, rows in enumerate(plan, 1):
            x = torch.from_numpy(augment(crops[rows], rng)).to(device)
            y = torch.from_numpy(labels[rows]).to(device)
            with autocast(device, bf16):
                features = net(x).float()
            identity = F.cross_entropy(classifier(F.normalize(features, dim=1)) * 16, y,
                                       label_smoothing=LABEL_SMOOTHING)
            triplet = batch_hard_triplet(features, y)
            related = (relation_loss(features, targets[rows].to(device))
                       if targets is not None else torch.zeros((), device=device))
            loss = identity + triplet + relation * related
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            totals += [loss.item(), identity.item(), triplet.item(), related.item()]
            progress(f"epoch {epoch}/{epochs}", step, len(plan))
        figures = dict(zip(("loss", "identity", "triplet", "relation"),
                           (round(float(v / len(plan)), 4) for v in totals), strict=True))
        history.append({"epoch": epoch, **figures, "lr": round(schedule.get_last_lr()[0], 6),
                        "seconds": round(time.time() - start, 1)})
        log(json.dumps(history[-1]))
        save_state(out, model, optimiser, schedule, config=config, recipe=recipe, epoch=epoch,
                   history=history, rng=rng.bit_generator.state)
    with atomic_path(out) as temp:  # a crash mid-save never leaves half a weights file
        torch.save({"config": config, "recipe": recipe, "history": history,
                    "metrics": history[-1] if history else {},
                    "state_dict": {k: v.half() for k, v in net.state_dict().items()}}, temp)
    return history[-1] if history else {}


def measure(weights: Path | None = None, kind: str = "labeled") -> dict:
    """CUHK03 val, one camera's crops against the other's and the reverse: rank-1 and mAP
    (``bench/reid.py`` reports this beside the teachers)."""
    paths, person, camera = cuhk03("val", (kind,))
    vectors = embed_bodies(paths, str(weights) if weights else None)
    return cross_camera(vectors, person, camera)


def cross_camera(vectors: np.ndarray, person: np.ndarray, camera: np.ndarray) -> dict:
    """Rank-1 and mean average precision of each camera's crops searched among the other
    camera's (both directions, averaged over all queries)."""
    hits, precisions = [], []
    for side in (0, 1):
        query, gallery = np.flatnonzero(camera == side), np.flatnonzero(camera != side)
        sims = vectors[query] @ vectors[gallery].T
        for row, q in enumerate(query):
            order = np.argsort(-sims[row], kind="stable")
            match = person[gallery][order] == person[q]
            if not match.any():
                continue
            hits.append(bool(match[0]))
            found = np.flatnonzero(match)
            precisions.append(float(np.mean((np.arange(len(found)) + 1) / (found + 1))))
    return {"queries": len(hits), "rank1": float(np.mean(hits)), "map": float(np.mean(precisions))}

"""Training the networks this project ships (emotion, portrait): outside the inference code,
which they only call."""

import contextlib
from pathlib import Path

import torch

from ml.files import atomic_path


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bfloat16 autocast pays here: on CUDA, and on CPUs with AVX-512 BF16 or AMX
    (measured on this project's 2-core EPYC: an emotion training step 2.5x faster with
    channels-last + bf16 than in fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """The forward pass's precision for a training step: bf16 autocast or plain fp32
    (weights, optimiser and evaluation stay fp32 either way)."""
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def state_path(out: Path) -> Path:
    """Where a run's whole training state is saved after every epoch (``--resume`` reads it)."""
    return out.with_name(out.stem + ".state.pt")


def save_state(out: Path, model, optimiser, schedule, **run: object) -> None:
    """Save what a resumed run needs (network, optimiser, schedule, torch's random state and
    ``run``: settings, epoch, history, the trainer's own generators) atomically: a crash
    mid-save leaves the previous epoch's."""
    state_path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(state_path(out)) as temp:
        torch.save({**run, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(), "torch": torch.get_rng_state()}, temp)


def restore(state: dict, model, optimiser, schedule) -> tuple[list[dict], int]:
    """Put a saved state back; the history so far and the next epoch."""
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["torch"])
    return state["history"], state["epoch"] + 1


def resumed(out: Path, config: dict, recipe: dict, model, optimiser, schedule, resume: bool,
            log=print) -> tuple[list[dict], int, dict | None]:
    """With ``resume``, the stopped run at ``out`` put back (``restore``): its history, the
    next epoch and its state (for the trainer's own generators); else a fresh start."""
    state = load_state(out, config, recipe) if resume else None
    if state is None:
        return [], 1, None
    history, first = restore(state, model, optimiser, schedule)
    log(f"resuming after epoch {state['epoch']}")
    return history, first, state


def load_state(out: Path, config: dict, recipe: dict) -> dict | None:
    """The saved state of the run writing ``out``; None if there is none; ``ValueError`` if it
    is a run with other settings (resuming it would silently mix two recipes)."""
    if not state_path(out).exists():
        return None
    state = torch.load(state_path(out), map_location="cpu", weights_only=False)
    if state["config"] != config or state["recipe"] != recipe:
        raise ValueError(f"{state_path(out)} is a run with other settings: "
                         f"{state['config']} {state['recipe']}")
    return state

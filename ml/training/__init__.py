"""Training the networks this project ships (emotion, portrait): outside the inference code,
which they only call."""

from pathlib import Path

import torch


def state_path(out: Path) -> Path:
    """Where a run's whole training state is saved after every epoch (``--resume`` reads it)."""
    return out.with_name(out.stem + ".state.pt")


def save_state(out: Path, state: dict) -> None:
    """Save the state atomically: a crash mid-save leaves the previous epoch's."""
    temp = state_path(out).with_suffix(".tmp")
    torch.save(state, temp)
    temp.replace(state_path(out))


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

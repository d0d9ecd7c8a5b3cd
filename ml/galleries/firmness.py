"""How firm a lookalike answer is, in words: would another photo of you give the same person?

Measured, not guessed: on strangers held out of the gallery (``bench/lookalike_stability.py``,
development split) the share of a person's *other* photos whose top lookalike is the same,
as a function of how far ahead the top lookalike is of the runner-up (``margin``, in the
ranking's distance). The table is refitted by the benchmark's ``--write``.
With several photos of the user, what they agree on is said as well.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ml.faces.embedding import Embeddings
    from ml.galleries.store import Gallery, Lookalike

FIRMNESS_FILE = Path(__file__).with_name("firmness.json")
BINS = 5  # margin quantile bins on the development strangers


@dataclass(frozen=True)
class Firmness:
    chance: float  # 0-1: how often another photo of the same person gives the same top-1
    level: str  # "firm", "fair" or "loose"
    text: str  # one sentence for the user
    photos_agreeing: int | None = None  # with several photos: how many have this top-1
    photos: int | None = None

    def to_dict(self) -> dict:
        return {"chance": round(self.chance, 2), "level": self.level, "text": self.text,
                "photos_agreeing": self.photos_agreeing, "photos": self.photos}


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(FIRMNESS_FILE.read_text())


def chance_from_margin(margin: float, profile: bool = False) -> float:
    """P(the same top-1 from another photo) for a top-1 this far ahead of the runner-up."""
    table = _table()["profile" if profile else "single"]
    edges, rates = table["edges"], table["rates"]
    return float(rates[int(np.searchsorted(edges, margin, side="right"))])


def firmness(name: str, margin: float, tops: Sequence[str] | None = None) -> Firmness:
    """The firmness of ``name`` as the top lookalike; ``tops``: each of the user's photos' own
    top lookalike, when the answer combines several photos."""
    chance = chance_from_margin(margin, profile=bool(tops and len(tops) > 1))
    level = "firm" if chance >= 0.6 else "fair" if chance >= 0.35 else "loose"
    n_in_10 = max(1, min(9, round(10 * chance)))
    if level == "firm":
        text = f"A firm answer: another photo of you would give {name} too about " \
               f"{n_in_10} times in 10."
    elif level == "fair":
        text = f"A fair answer: another photo of you would give {name} too about " \
               f"{n_in_10} times in 10; the runners-up are close behind."
    else:
        text = f"A loose answer: {name} is only just ahead, so another photo of you would " \
               f"most likely give someone else from this list."
    agreeing = None
    if tops and len(tops) > 1:
        agreeing = sum(t == name for t in tops)
        own = "on its own gives" if agreeing == 1 else "on their own give"
        text += f" {agreeing} of your {len(tops)} photos {own} {name} first."
    return Firmness(chance, level, text, agreeing, len(tops) if tops else None)


def lookalikes_with_firmness(gallery: Gallery, vectors: Embeddings, k: int,
                             actors_only: bool = False, singles: Embeddings | None = None
                             ) -> tuple[list[list[Lookalike]], list[Firmness | None]]:
    """``gallery.lookalikes`` of each vector and how firm each top answer is; ``singles``: the
    user's photos one by one, when ``vectors`` is their combined profile."""
    found = gallery.lookalikes(vectors, max(k, 2), actors_only=actors_only)
    tops = None
    if singles is not None and len(singles) > 1:
        tops = [m[0].name for m in gallery.lookalikes(singles, 1, actors_only) if m]
    firm = [firmness(m[0].name, m[1].distance - m[0].distance, tops) if len(m) > 1 else None
            for m in found]
    return [m[:k] for m in found], firm


def fit_firmness(single: list[tuple[float, float]], profile: list[tuple[float, float]],
                 fitted_on: str) -> dict:
    """Refit the table (``bench/lookalike_stability.py --write``) from (margin, share of the
    same person's other photos or other profile giving the same top-1) of single photos and
    of profiles, binned by margin quantiles."""
    table = {"single": _bin(single), "profile": _bin(profile), "fitted_on": fitted_on}
    FIRMNESS_FILE.write_text(json.dumps(table, indent=1) + "\n")
    _table.cache_clear()
    return table


def _bin(pairs: list[tuple[float, float]]) -> dict:
    margins = np.array([m for m, _ in pairs])
    agree = np.array([a for _, a in pairs])
    edges = np.quantile(margins, np.linspace(0, 1, BINS + 1)[1:-1])
    which = np.searchsorted(edges, margins, side="right")
    rates = [float(agree[which == b].mean()) for b in range(BINS)]
    return {"edges": [round(float(e), 5) for e in edges], "rates": [round(r, 3) for r in rates],
            "counts": [int((which == b).sum()) for b in range(BINS)]}

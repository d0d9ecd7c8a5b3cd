"""Portrait mode: the U-Net person mask (``model``) and the halo-free background blur
(``blur``, no network). Names are imported on first use: ``ml.portrait.blur`` loads no torch."""

from __future__ import annotations

from importlib import import_module

_PUBLIC = {"Portrait": "ml.portrait.model", "portrait": "ml.portrait.model",
           "portrait_mask": "ml.portrait.model", "blur_background": "ml.portrait.blur",
           "cutout": "ml.portrait.blur"}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ml.portrait' has no attribute '{name}'")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value

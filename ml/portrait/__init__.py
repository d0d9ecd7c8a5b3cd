"""Portrait mode: the U-Net person mask and the halo-free background blur (model)."""

from ml.portrait.model import Portrait, blur_background, portrait, portrait_mask

__all__ = ["Portrait", "blur_background", "portrait", "portrait_mask"]

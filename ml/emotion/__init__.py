"""Facial expression: the residual CNN and its inference (model)."""

from ml.emotion.model import Emotion, emotions

__all__ = ["Emotion", "emotions"]

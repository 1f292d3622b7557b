from .base import BaseDetector

__all__ = ['BaseDetector']

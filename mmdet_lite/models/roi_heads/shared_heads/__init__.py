"""Shared heads: modules run on the pooled RoI features before the box and mask branches
(``roi_head.shared_head``), as 2.x's C4 detectors do with ResNet's last stage."""
from .res_layer import ResLayer

__all__ = ['ResLayer']

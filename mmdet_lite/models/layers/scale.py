"""``Scale``: a learnable scalar that multiplies a tensor (mmcv's ``Scale``, used by FCOS-style heads).

mmcv-lite ships it in pure Python with mmcv 1.x's parameter name (``scale``, shape ()), so the
2.x state-dict keys (``bbox_head.scales.0.scale``) come unchanged; mmdet_lite re-exports it here so
that heads import layers from one place.
"""
from mmcv.cnn import Scale

__all__ = ['Scale']

"""Conv + norm + activation block, named as mmcv's ``ConvModule`` (``.conv``, ``.bn``/``.gn``).

mmcv-lite 2.x ships ``mmcv.cnn.ConvModule`` in pure Python (no compiled ops), so mmdet_lite uses it
unchanged: its child names give the mmdetection 2.x state-dict keys
(``neck.lateral_convs.0.conv.weight``, ``roi_head.mask_head.convs.0.conv.weight``, ...).
"""
from mmcv.cnn import ConvModule

__all__ = ['ConvModule']

"""SSDVGG: the VGG backbone of SSD (Liu et al., 2016), as mmdetection 2.x's.

mmcv's pure-Python ``VGG`` (conv/ReLU/max-pool ``features``), with SSD's changes: no last pool,
ceil-mode pools, then a 3x3 stride-1 max-pool, a dilated 3x3 conv 512 -> 1024 (fc6) and a 1x1
conv 1024 -> 1024 (fc7), each with a ReLU. ``forward`` returns the outputs of the ``features``
layers listed in ``out_feature_indices``: for SSD300 (N, 3, 300, 300) → conv4_3 (N, 512, 38, 38)
and fc7 (N, 1024, 19, 19).
"""
import warnings
from typing import List, Optional, Sequence, Tuple, Union

from mmcv.cnn import VGG
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES


@BACKBONES.register_module()
class SSDVGG(VGG, BaseModule):
    """VGG for SSD.

    Args:
        depth: VGG depth, one of 11, 13, 16, 19.
        with_last_pool: keep VGG's last max-pool.
        ceil_mode: ceil-mode max-pools.
        out_indices: VGG stages (unused by ``forward``, kept as 2.x's argument).
        out_feature_indices: indices into ``features`` whose outputs are returned.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` (a local file or cached name,
            never downloaded) or None (Kaiming convs, unit BNs, Normal linears).
        input_size / l2_norm_scale: deprecated and ignored (the L2 norm lives in ``SSDNeck``).
    """

    # 2.x's extra-layer settings, kept for code that reads them from the class
    extra_setting = {
        300: (256, 'S', 512, 128, 'S', 256, 128, 256, 128, 256),
        512: (256, 'S', 512, 128, 'S', 256, 128, 'S', 256, 128, 'S', 256, 128),
    }

    def __init__(self, depth: int, with_last_pool: bool = False, ceil_mode: bool = True,
                 out_indices: Sequence[int] = (3, 4),
                 out_feature_indices: Sequence[int] = (22, 34),
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 input_size: Optional[int] = None, l2_norm_scale: Optional[float] = None):
        super().__init__(depth, with_last_pool=with_last_pool, ceil_mode=ceil_mode,
                         out_indices=out_indices)
        for layer in (nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
                      nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6),
                      nn.ReLU(inplace=True), nn.Conv2d(1024, 1024, kernel_size=1),
                      nn.ReLU(inplace=True)):
            self.features.add_module(str(len(self.features)), layer)
        self.out_feature_indices = out_feature_indices
        if init_cfg is not None and pretrained is not None:
            raise ValueError('give either pretrained or init_cfg to SSDVGG, not both')
        if init_cfg is not None:
            self.init_cfg = init_cfg
        elif isinstance(pretrained, str):
            warnings.warn('DeprecationWarning: pretrained is deprecated, please use "init_cfg" '
                          'instead')
            self.init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        elif pretrained is None:
            self.init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                             dict(type='Constant', val=1, layer='BatchNorm2d'),
                             dict(type='Normal', std=0.01, layer='Linear')]
        else:
            raise TypeError(f'SSDVGG: pretrained must be a str or None, got {pretrained!r}')
        if input_size is not None:
            warnings.warn('DeprecationWarning: input_size is deprecated')
        if l2_norm_scale is not None:
            warnings.warn('DeprecationWarning: l2_norm_scale in VGG is deprecated, it has been '
                          'moved to SSDNeck.')

    def init_weights(self) -> None:
        """Load ``init_cfg`` 'Pretrained' (never a download), else its initialisers."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is None:
            BaseModule.init_weights(self)
            return
        load_pretrained(self, pretrained['checkpoint'], prefix=pretrained.get('prefix'))
        self._is_init = True

    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        """(N, 3, H, W) → the outputs of ``out_feature_indices`` (one tensor if only one)."""
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.out_feature_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

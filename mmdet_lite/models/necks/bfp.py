"""Balanced Feature Pyramid (Libra R-CNN, Pang et al., 2019), as mmdetection 2.x's.

Shapes: ``L`` maps (N, C, H_l, W_l) → ``L`` maps of the same shapes.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmcv.cnn import NonLocal2d
from mmengine.model import BaseModule
from torch import Tensor

from ..builder import NECKS
from ..utils.conv_module import ConvModule


@NECKS.register_module()
class BFP(BaseModule):
    """Every level is brought to the size of ``refine_level`` (adaptive max-pool from finer
    levels, nearest resize from coarser ones) and averaged; the average is refined (a 3x3 conv,
    a non-local block, or nothing), brought back to each level's size the opposite way and
    added to it.

    Args:
        in_channels: channels of every level.
        num_levels: number of levels.
        refine_level: index of the level whose size the levels are gathered at.
        refine_type: None, 'conv' or 'non_local'.
        conv_cfg / norm_cfg: layer configs of the refinement.
        init_cfg: Xavier-uniform convs, as 2.x.
    """

    def __init__(self, in_channels: int, num_levels: int, refine_level: int = 2,
                 refine_type: Optional[str] = None, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Xavier', layer='Conv2d', distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        if refine_type not in (None, 'conv', 'non_local'):
            raise ValueError(f"BFP refine_type={refine_type!r}; use None, 'conv' or 'non_local'")
        if not 0 <= refine_level < num_levels:
            raise ValueError(f'BFP refine_level={refine_level} must be in [0, {num_levels})')
        self.in_channels = in_channels
        self.num_levels = num_levels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.refine_level = refine_level
        self.refine_type = refine_type
        if refine_type == 'conv':
            self.refine = ConvModule(in_channels, in_channels, 3, padding=1, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg)
        elif refine_type == 'non_local':
            self.refine = NonLocal2d(in_channels, reduction=1, use_scale=False,
                                     conv_cfg=conv_cfg, norm_cfg=norm_cfg)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(inputs) != self.num_levels:
            raise ValueError(f'BFP was built for {self.num_levels} levels, got {len(inputs)}')
        size = inputs[self.refine_level].shape[2:]
        gathered = [F.adaptive_max_pool2d(x, output_size=size) if i < self.refine_level
                    else F.interpolate(x, size=size, mode='nearest')
                    for i, x in enumerate(inputs)]
        bsf = sum(gathered) / len(gathered)
        if self.refine_type is not None:
            bsf = self.refine(bsf)
        return tuple(
            x + (F.interpolate(bsf, size=x.shape[2:], mode='nearest') if i < self.refine_level
                 else F.adaptive_max_pool2d(bsf, output_size=x.shape[2:]))
            for i, x in enumerate(inputs))

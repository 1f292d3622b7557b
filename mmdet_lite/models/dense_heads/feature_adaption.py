"""FeatureAdaption: guided anchoring's shape-aware feature alignment (Wang et al., CVPR 2019).

The predicted anchor shapes (dw, dh per location) are mapped by a 1x1 conv to the offsets of a
deformable 3x3 conv, so that each location's features are sampled over its own anchor's extent.
Names are mmdetection 2.x's (``conv_offset``, ``conv_adaption``).
"""
from typing import List, Optional, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers.deform_conv import DeformConv2d


class FeatureAdaption(BaseModule):
    """Deformable conv whose offsets come from the anchor-shape prediction, not the features.

    Args:
        in_channels: channels of the input features.
        out_channels: channels of the output features.
        kernel_size: kernel of the deformable conv.
        deform_groups: deformable groups (each gets its own offsets).
        init_cfg: 2.x's default: Normal(std=0.1) on ``conv_offset``, Normal(std=0.01) on
            ``conv_adaption`` (a head's ``init_weights`` then zeroes ``conv_offset``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 deform_groups: int = 4,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.1,
                            override=dict(type='Normal', name='conv_adaption', std=0.01))
        super().__init__(init_cfg)
        offset_channels = kernel_size * kernel_size * 2
        self.conv_offset = nn.Conv2d(2, deform_groups * offset_channels, 1, bias=False)
        self.conv_adaption = DeformConv2d(in_channels, out_channels, kernel_size=kernel_size,
                                          padding=(kernel_size - 1) // 2,
                                          deform_groups=deform_groups)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor, shape: Tensor) -> Tensor:
        """(N, C_in, H, W) features and (N, 2, H, W) shape predictions -> (N, C_out, H, W).

        No gradient flows from here into the shape branch (it learns from its own loss).
        """
        offset = self.conv_offset(shape.detach())
        return self.relu(self.conv_adaption(x, offset))

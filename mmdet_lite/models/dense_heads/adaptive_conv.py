"""AdaptiveConv: Cascade RPN's anchor-aligned 3x3 conv (Vu et al., NeurIPS 2019).

``'dilation'``: a plain dilated conv (uniform anchors of the first stage); ``'offset'``: a
deformable conv whose offsets come from the anchors themselves (``StageCascadeRPNHead.
anchor_offset``), so each location samples its own refined anchor. Names are 2.x's
(``conv``), so checkpoints load unchanged.
"""
from typing import List, Optional, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers.deform_conv import DeformConv2d


class AdaptiveConv(BaseModule):
    """3x3 conv adapted to the anchors.

    Args:
        in_channels / out_channels: channels.
        kernel_size: must be 3.
        stride / padding / groups: of the deformable conv (``'offset'``: only 1 / 1 / 1).
        dilation: of the dilated conv (``'dilation'``); its padding equals it.
        bias: the deformable conv has none (2.x ignores it; the dilated conv always has one).
        type: ``'dilation'`` or ``'offset'``.
        init_cfg: 2.x's default, Normal(std=0.01) on ``conv``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int = 1, dilation: int = 3, groups: int = 1,
                 bias: bool = False, type: str = 'dilation',
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Normal', std=0.01, override=dict(name='conv'))
        super().__init__(init_cfg)
        if type not in ('offset', 'dilation'):
            raise ValueError(f"AdaptiveConv: type must be 'offset' or 'dilation', got {type!r}")
        if kernel_size != 3:
            raise ValueError(f'AdaptiveConv supports only kernel_size=3, got {kernel_size}')
        self.adapt_type = type
        if type == 'offset':
            if (stride, padding, groups) != (1, 1, 1):
                raise ValueError('AdaptiveConv offset mode supports only stride=1, padding=1, '
                                 f'groups=1, got {stride}, {padding}, {groups}')
            self.conv = DeformConv2d(in_channels, out_channels, kernel_size, padding=padding,
                                     stride=stride, groups=groups, bias=bias)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=dilation,
                                  dilation=dilation)

    def forward(self, x: Tensor, offset: Optional[Tensor]) -> Tensor:
        """(N, C_in, H, W) and, in offset mode, offsets (N, H * W, 18) -> (N, C_out, H, W)."""
        if self.adapt_type == 'dilation':
            if offset is not None:
                raise ValueError('AdaptiveConv in dilation mode takes no offsets')
            return self.conv(x)
        n, _, h, w = x.shape
        if offset is None or offset.shape[1] != h * w:
            raise ValueError(f'AdaptiveConv offset mode needs offsets (N, H * W = {h * w}, 18), '
                             f'got {None if offset is None else tuple(offset.shape)}')
        offset = offset.permute(0, 2, 1).reshape(n, -1, h, w).contiguous()
        return self.conv(x, offset)

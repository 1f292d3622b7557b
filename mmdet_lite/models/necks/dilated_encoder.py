"""YOLOF's dilated encoder, as mmdetection 2.x's: a 1x1 and a 3x3 conv (each + BN) on the last
input, then residual bottlenecks with growing dilations.

Shapes: last input (N, in_channels, H, W) → a 1-tuple (N, out_channels, H, W).
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from mmengine.model.weight_init import caffe2_xavier_init
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..builder import NECKS
from ..utils.conv_module import ConvModule


class Bottleneck(nn.Module):
    """1x1 conv → 3x3 conv with ``dilation`` → 1x1 conv (each conv + norm + ReLU), plus the
    input."""

    def __init__(self, in_channels: int, mid_channels: int, dilation: int,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        self.conv1 = ConvModule(in_channels, mid_channels, 1, norm_cfg=norm_cfg)
        self.conv2 = ConvModule(mid_channels, mid_channels, 3, padding=dilation,
                                dilation=dilation, norm_cfg=norm_cfg)
        self.conv3 = ConvModule(mid_channels, in_channels, 1, norm_cfg=norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv3(self.conv2(self.conv1(x))) + x


@NECKS.register_module()
class DilatedEncoder(BaseModule):
    """Args:
        in_channels: channels of the backbone's last output.
        out_channels: encoder width.
        block_mid_channels: bottleneck width.
        num_residual_blocks: bottlenecks, one per ``block_dilations`` entry.
        block_dilations: dilation of each bottleneck's 3x3 conv.
        init_cfg: accepted for config symmetry (2.x's class takes none); the fixed YOLOF init
            of ``init_weights`` is used.
    """

    def __init__(self, in_channels: int, out_channels: int, block_mid_channels: int,
                 num_residual_blocks: int, block_dilations: Sequence[int],
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        if len(block_dilations) < num_residual_blocks:
            raise ValueError(f'DilatedEncoder: {num_residual_blocks} blocks but block_dilations '
                             f'{tuple(block_dilations)}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.block_mid_channels = block_mid_channels
        self.num_residual_blocks = num_residual_blocks
        self.block_dilations = block_dilations
        self.lateral_conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.lateral_norm = nn.BatchNorm2d(out_channels)
        self.fpn_conv = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.fpn_norm = nn.BatchNorm2d(out_channels)
        self.dilated_encoder_blocks = nn.Sequential(*[
            Bottleneck(out_channels, block_mid_channels, dilation=block_dilations[i])
            for i in range(num_residual_blocks)])

    def init_weights(self) -> None:
        """Caffe2-Xavier for the two input convs, N(0, 0.01) for the blocks' convs, unit norms."""
        caffe2_xavier_init(self.lateral_conv)
        caffe2_xavier_init(self.fpn_conv)
        for m in [self.lateral_norm, self.fpn_norm]:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        for m in self.dilated_encoder_blocks.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        self._is_init = True

    def forward(self, feature: Sequence[Tensor]) -> Tuple[Tensor]:
        out = self.lateral_norm(self.lateral_conv(feature[-1]))
        out = self.fpn_norm(self.fpn_conv(out))
        return self.dilated_encoder_blocks(out),

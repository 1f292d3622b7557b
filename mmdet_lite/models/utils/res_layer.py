"""``ResLayer``: one ResNet stage, a stack of residual blocks (mmdet 2.x ``ResLayer``)."""
from typing import Optional, Type

from mmcv.cnn import build_conv_layer
from torch import nn

from ..layers.norm import build_norm_layer


class ResLayer(nn.Sequential):
    """``num_blocks`` blocks; the first one changes stride/width, with a ``downsample`` branch.

    Child names are ``0``, ``1``, ... and the shortcut is ``downsample.0`` (1x1 conv) /
    ``downsample.1`` (norm), as in mmdetection 2.x and torchvision.

    Args:
        block: ``BasicBlock`` or ``Bottleneck`` (any class with ``expansion`` and the same
            constructor).
        inplanes: input channels.
        planes: bottleneck width; the stage outputs ``planes * block.expansion`` channels.
        num_blocks: number of blocks.
        stride: stride of the first block.
        dilation: dilation of every block.
        style: 'pytorch' (stride on the 3x3 conv) or 'caffe' (stride on the first 1x1 conv).
        avg_down: downsample the shortcut with AvgPool + stride-1 conv instead of a strided conv.
        with_cp: gradient checkpointing inside each block.
        conv_cfg: conv layer config (``None`` → ``nn.Conv2d``).
        norm_cfg: norm layer config.
    """

    def __init__(self, block: Type[nn.Module], inplanes: int, planes: int, num_blocks: int,
                 stride: int = 1, dilation: int = 1, style: str = 'pytorch',
                 avg_down: bool = False, with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None):
        if norm_cfg is None:
            norm_cfg = dict(type='BN', requires_grad=True)
        if num_blocks < 1:
            raise ValueError(f'a ResLayer needs at least one block, got num_blocks={num_blocks}')
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            layers = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                layers.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True,
                                           count_include_pad=False))
            layers += [
                build_conv_layer(conv_cfg, inplanes, out_channels, 1, stride=conv_stride,
                                 bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
            ]
            downsample = nn.Sequential(*layers)
        blocks = [block(inplanes, planes, stride=stride, dilation=dilation, downsample=downsample,
                        style=style, with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg)]
        for _ in range(1, num_blocks):
            blocks.append(block(out_channels, planes, stride=1, dilation=dilation, style=style,
                                with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg))
        super().__init__(*blocks)


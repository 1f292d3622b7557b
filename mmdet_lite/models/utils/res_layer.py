"""``ResLayer``: one ResNet stage, a stack of residual blocks (mmdet 2.x ``ResLayer``)."""
from typing import Optional, Type

from torch import nn

from ..layers.conv import build_conv_layer
from ..layers.norm import build_norm_layer


def make_downsample(inplanes: int, out_channels: int, stride: int, avg_down: bool,
                    conv_cfg: Optional[dict], norm_cfg: dict) -> nn.Sequential:
    """The shortcut branch of a block that changes stride or width: 1x1 conv + norm, strided,
    or with ``avg_down`` an ``AvgPool2d(stride)`` followed by a stride-1 conv (ResNet-D)."""
    layers = []
    conv_stride = stride
    if avg_down:
        conv_stride = 1
        layers.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True,
                                   count_include_pad=False))
    layers += [
        build_conv_layer(conv_cfg, inplanes, out_channels, 1, stride=conv_stride, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
    ]
    return nn.Sequential(*layers)


class ResLayer(nn.Sequential):
    """``num_blocks`` blocks; one of them changes stride/width, with a ``downsample`` branch.

    Child names are ``0``, ``1``, ... and the shortcut is ``downsample.0`` (1x1 conv) /
    ``downsample.1`` (norm), as in mmdetection 2.x and torchvision; with ``avg_down`` the
    shortcut starts with an AvgPool (``downsample.0``; conv and norm are ``.1``/``.2``), also
    when ``stride`` is 1, as 2.x.

    Args:
        block: ``BasicBlock``, ``Bottleneck`` or a variant (any class with ``expansion`` and
            the keyword arguments ``inplanes``, ``planes``, ``stride``, ``downsample``,
            ``conv_cfg``, ``norm_cfg``).
        inplanes: input channels.
        planes: block width; the stage outputs ``planes * block.expansion`` channels.
        num_blocks: number of blocks.
        stride: stride of the downsampling block.
        avg_down: downsample the shortcut with AvgPool + stride-1 conv instead of a strided conv.
        conv_cfg: conv layer config (``None`` → ``nn.Conv2d``).
        norm_cfg: norm layer config, given to the blocks as is (None: blocks without norm,
            e.g. SCNet's ``SimplifiedBasicBlock``; a shortcut then needs one anyway).
        downsample_first: the first block downsamples (ResNet); otherwise the last one does,
            and the others keep ``inplanes`` channels (Hourglass).
        **block_kwargs: the block's own arguments, given to every block (``dilation``,
            ``style``, ``with_cp``, ``dcn``, ``plugins``, ResNeXt's ``groups``, ...).
    """

    def __init__(self, block: Type[nn.Module], inplanes: int, planes: int, num_blocks: int,
                 stride: int = 1, avg_down: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'), downsample_first: bool = True,
                 **block_kwargs):
        if num_blocks < 1:
            raise ValueError(f'a ResLayer needs at least one block, got num_blocks={num_blocks}')
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = make_downsample(inplanes, out_channels, stride, avg_down, conv_cfg,
                                         norm_cfg)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, **block_kwargs)
        if downsample_first:
            blocks = [block(inplanes=inplanes, planes=planes, stride=stride,
                            downsample=downsample, **common)]
            blocks += [block(inplanes=out_channels, planes=planes, stride=1, **common)
                       for _ in range(1, num_blocks)]
        else:
            blocks = [block(inplanes=inplanes, planes=inplanes, stride=1, **common)
                      for _ in range(num_blocks - 1)]
            blocks.append(block(inplanes=inplanes, planes=planes, stride=stride,
                                downsample=downsample, **common))
        super().__init__(*blocks)
        self.block = block

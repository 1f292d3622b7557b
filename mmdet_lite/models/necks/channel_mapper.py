"""ChannelMapper, as mmdetection 2.x's: one conv per input to a common width, plus optional
stride-2 extra levels (DETR-family necks).

Shapes: ``L`` inputs (N, in_channels[l], H_l, W_l) → ``num_outs`` maps (N, out_channels, ., .).
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigTypeError, ConfigValueError


@NECKS.register_module()
class ChannelMapper(BaseModule):
    """Args:
        in_channels: channels of each input.
        out_channels: channels of every output.
        kernel_size: kernel of the per-input convs ('same' padding).
        conv_cfg / norm_cfg / act_cfg: layer configs (ReLU).
        num_outs: outputs; beyond ``len(in_channels)``, stride-2 3x3 convs on the last input,
            then on the previous extra output.
        init_cfg: Xavier-uniform convs, as 2.x.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, kernel_size: int = 3,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'), num_outs: Optional[int] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Xavier', layer='Conv2d', distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise ConfigTypeError(f'ChannelMapper in_channels must be a list, got {in_channels!r}')
        num_outs = len(in_channels) if num_outs is None else num_outs
        if num_outs < len(in_channels):
            raise ValueError(f'ChannelMapper num_outs={num_outs} is below the '
                             f'{len(in_channels)} inputs')
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.convs = nn.ModuleList(
            ConvModule(c, out_channels, kernel_size, padding=(kernel_size - 1) // 2, **layer)
            for c in in_channels)
        self.extra_convs = None
        if num_outs > len(in_channels):
            self.extra_convs = nn.ModuleList(
                ConvModule(in_channels[-1] if i == 0 else out_channels, out_channels, 3,
                           stride=2, padding=1, **layer)
                for i in range(num_outs - len(in_channels)))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(inputs) != len(self.convs):
            raise ConfigValueError(f'ChannelMapper was built for {len(self.convs)} inputs, got '
                                   f'{len(inputs)}')
        outs = [conv(x) for conv, x in zip(self.convs, inputs)]
        for i, conv in enumerate(self.extra_convs or []):
            outs.append(conv(inputs[-1] if i == 0 else outs[-1]))
        return tuple(outs)

"""CenterNet's ResNet neck, as mmdetection 2.x's: (3x3 conv or DCNv2 + BN + ReLU, then a
stride-2 transposed conv + BN + ReLU) per entry of ``num_deconv_filters``, on the last input.

Shapes: input (N, in_channel, H, W) (last of the list) → a 1-tuple (N, num_deconv_filters[-1],
H * 2**k, W * 2**k), k = len(num_deconv_filters).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigTypeError, ConfigValueError


@NECKS.register_module()
class CTResNetNeck(BaseModule):
    """Args:
        in_channel: channels of the backbone's last output.
        num_deconv_filters: output channels of each upsampling step.
        num_deconv_kernels: transposed-conv kernel of each step (4: exact 2x with padding 1).
        use_dcn: modulated deformable conv (DCNv2) instead of the plain 3x3 conv.
    """

    def __init__(self, in_channel: int, num_deconv_filters: Sequence[int],
                 num_deconv_kernels: Sequence[int], use_dcn: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        if len(num_deconv_filters) != len(num_deconv_kernels):
            raise ConfigValueError(
                f'CTResNetNeck: num_deconv_filters {tuple(num_deconv_filters)} and '
                f'num_deconv_kernels {tuple(num_deconv_kernels)} differ in length')
        self.fp16_enabled = False
        self.use_dcn = use_dcn
        self.in_channel = in_channel
        layers = []
        for filters, kernel in zip(num_deconv_filters, num_deconv_kernels):
            layers.append(ConvModule(self.in_channel, filters, 3, padding=1,
                                     conv_cfg=dict(type='DCNv2') if use_dcn else None,
                                     norm_cfg=dict(type='BN')))
            layers.append(ConvModule(filters, filters, kernel, stride=2, padding=1,
                                     conv_cfg=dict(type='deconv'), norm_cfg=dict(type='BN')))
            self.in_channel = filters
        self.deconv_layers = nn.Sequential(*layers)

    def init_weights(self) -> None:
        """Transposed convs start as bilinear upsampling of each channel, as CenterNet."""
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                m.reset_parameters()
                w = m.weight.data
                f = math.ceil(w.size(2) / 2)
                c = (2 * f - 1 - f % 2) / (2. * f)
                ramp_h = 1 - (torch.arange(w.size(2), dtype=w.dtype) / f - c).abs()
                ramp_w = 1 - (torch.arange(w.size(3), dtype=w.dtype) / f - c).abs()
                w[0, 0] = ramp_h[:, None] * ramp_w[None, :]
                w[1:, 0] = w[0, 0]
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif not self.use_dcn and isinstance(m, nn.Conv2d):
                m.reset_parameters()
        self._is_init = True

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        if not isinstance(inputs, (list, tuple)):
            raise ConfigTypeError('CTResNetNeck takes the list of backbone outputs')
        return self.deconv_layers(inputs[-1]),

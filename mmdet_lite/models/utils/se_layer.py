"""Channel attention blocks, as mmdetection 2.x's: Squeeze-and-Excitation (``SELayer``) and
Dynamic ReLU (``DyReLU``, DyHead's task-aware attention).

Shapes: (N, C, H, W) → (N, C, H, W).
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from .conv_module import ConvModule
from ...core.utils.errors import ConfigTypeError

ActCfg = Union[dict, Sequence[dict]]


def _two_acts(act_cfg: ActCfg, owner: str) -> Tuple[dict, dict]:
    acts = (act_cfg, act_cfg) if isinstance(act_cfg, dict) else tuple(act_cfg)
    if len(acts) != 2 or not all(isinstance(a, dict) for a in acts):
        raise ConfigTypeError(f'{owner} act_cfg must be a dict or two dicts, got {act_cfg!r}')
    return acts


class SELayer(nn.Module):
    """x * act2(conv2(act1(conv1(avgpool(x))))), the hidden width ``int(channels / ratio)``.

    Args:
        channels: input and output channels.
        ratio: squeeze ratio.
        conv_cfg: conv layer config.
        act_cfg: one dict for both activations, or two (default ReLU, Sigmoid).
    """

    def __init__(self, channels: int, ratio: int = 16, conv_cfg: Optional[dict] = None,
                 act_cfg: ActCfg = (dict(type='ReLU'), dict(type='Sigmoid'))):
        super().__init__()
        act1, act2 = _two_acts(act_cfg, 'SELayer')
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, int(channels / ratio), 1, stride=1,
                                conv_cfg=conv_cfg, act_cfg=act1)
        self.conv2 = ConvModule(int(channels / ratio), channels, 1, stride=1,
                                conv_cfg=conv_cfg, act_cfg=act2)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class DyReLU(nn.Module):
    """Dynamic ReLU: max(x * a1 + b1, x * a2 + b2) with per-channel coefficients predicted from
    the pooled input (a1 in [0, 2], a2, b1, b2 in [-1, 1] with the default hard sigmoid).

    Args:
        channels: input and output channels.
        ratio: squeeze ratio of the coefficient branch.
        conv_cfg: conv layer config.
        act_cfg: one dict for both activations, or two (default ReLU, HSigmoid(3, 6)).
    """

    def __init__(self, channels: int, ratio: int = 4, conv_cfg: Optional[dict] = None,
                 act_cfg: ActCfg = (dict(type='ReLU'),
                                    dict(type='HSigmoid', bias=3.0, divisor=6.0))):
        super().__init__()
        act1, act2 = _two_acts(act_cfg, 'DyReLU')
        self.channels = channels
        self.expansion = 4  # a1, b1, a2, b2
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, int(channels / ratio), 1, stride=1,
                                conv_cfg=conv_cfg, act_cfg=act1)
        self.conv2 = ConvModule(int(channels / ratio), channels * self.expansion, 1, stride=1,
                                conv_cfg=conv_cfg, act_cfg=act2)

    def forward(self, x: Tensor) -> Tensor:
        coeffs = self.conv2(self.conv1(self.global_avgpool(x))) - 0.5
        a1, b1, a2, b2 = torch.split(coeffs, self.channels, dim=1)
        return torch.max(x * (a1 * 2.0 + 1.0) + b1, x * (a2 * 2.0) + b2)

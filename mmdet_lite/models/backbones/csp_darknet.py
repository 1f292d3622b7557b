"""CSP-Darknet (YOLOv5 / YOLOX backbone), as mmdetection 2.x's.

Shapes: input (N, 3, H, W); layer ``i`` of ``['stem', 'stage1', ...]`` outputs
(N, C_i, H / 2**(i + 1), W / 2**(i + 1)), C_0 = 64 * widen_factor and C_i the stage's output
width (``arch_settings``) times ``widen_factor``; ``out_indices`` index that list.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import BACKBONES
from ..utils.freezing import batch_norms_to_eval, freeze
from ..utils.conv_module import ConvModule
from ..utils.csp_layer import CSPLayer
from ...core.utils.errors import ConfigValueError

_YOLOX_BN = dict(type='BN', momentum=0.03, eps=0.001)


class Focus(nn.Module):
    """Space-to-depth: the four pixels of each 2x2 cell become channels (order: top-left,
    bottom-left, top-right, bottom-right), then one conv. (N, C, H, W) → (N, out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None):
        super().__init__()
        self.conv = ConvModule(in_channels * 4, out_channels, kernel_size, stride,
                               padding=(kernel_size - 1) // 2, conv_cfg=conv_cfg,
                               norm_cfg=dict(_YOLOX_BN) if norm_cfg is None else norm_cfg,
                               act_cfg=dict(type='Swish') if act_cfg is None else act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2],
                       x[..., 1::2, 1::2]), dim=1)
        return self.conv(x)


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling: 1x1 conv to half width, concatenated with its stride-1 max
    pools of each kernel size, then a 1x1 conv. (N, C, H, W) → (N, out_channels, H, W)."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_sizes: Sequence[int] = (5, 9, 13), conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None):
        super().__init__()
        layer = dict(conv_cfg=conv_cfg,
                     norm_cfg=dict(_YOLOX_BN) if norm_cfg is None else norm_cfg,
                     act_cfg=dict(type='Swish') if act_cfg is None else act_cfg)
        mid = in_channels // 2
        self.conv1 = ConvModule(in_channels, mid, 1, stride=1, **layer)
        self.poolings = nn.ModuleList(
            nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2) for k in kernel_sizes)
        self.conv2 = ConvModule(mid * (len(kernel_sizes) + 1), out_channels, 1, **layer)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.poolings], dim=1))


@BACKBONES.register_module()
class CSPDarknet(BaseModule):
    """CSP-Darknet.

    Args:
        arch: 'P5' (4 stages) or 'P6' (5 stages).
        deepen_factor / widen_factor: multipliers of the CSP block counts / channel widths.
        out_indices: indices into ``['stem', 'stage1', ...]`` whose outputs are returned.
        frozen_stages: freeze the stem and stages 1..frozen_stages (-1: none).
        use_depthwise: depth-wise separable 3x3 convs.
        arch_ovewrite: replaces the arch table (2.x's spelling); rows are
            ``[in_channels, out_channels, num_blocks, add_identity, use_spp]``.
        spp_kernal_sizes: SPP pooling kernels (2.x's spelling).
        conv_cfg / norm_cfg / act_cfg: layer configs.
        norm_eval: keep BatchNorms in eval mode while training.
        init_cfg: Kaiming-uniform convs (a=sqrt(5)), as 2.x.
    """

    arch_settings = {
        'P5': [[64, 128, 3, True, False], [128, 256, 9, True, False],
               [256, 512, 9, True, False], [512, 1024, 3, False, True]],
        'P6': [[64, 128, 3, True, False], [128, 256, 9, True, False],
               [256, 512, 9, True, False], [512, 768, 3, True, False],
               [768, 1024, 3, False, True]],
    }

    def __init__(self, arch: str = 'P5', deepen_factor: float = 1.0, widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (2, 3, 4), frozen_stages: int = -1,
                 use_depthwise: bool = False, arch_ovewrite: Optional[list] = None,
                 spp_kernal_sizes: Sequence[int] = (5, 9, 13), conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(
                     type='Kaiming', layer='Conv2d', a=math.sqrt(5), distribution='uniform',
                     mode='fan_in', nonlinearity='leaky_relu')):
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings and not arch_ovewrite:
            raise KeyError(f'CSPDarknet arch={arch!r}; use one of {sorted(self.arch_settings)} '
                           'or give arch_ovewrite')
        setting = arch_ovewrite or self.arch_settings[arch]
        if not set(out_indices) <= set(range(len(setting) + 1)):
            raise ConfigValueError(f'CSPDarknet out_indices {tuple(out_indices)} must index '
                                   f"['stem', 'stage1', ..., 'stage{len(setting)}']")
        if frozen_stages not in range(-1, len(setting) + 1):
            raise ValueError(f'frozen_stages={frozen_stages} must be in [-1, {len(setting)}]')
        norm_cfg = dict(_YOLOX_BN) if norm_cfg is None else norm_cfg
        act_cfg = dict(type='Swish') if act_cfg is None else act_cfg
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.use_depthwise = use_depthwise
        self.norm_eval = norm_eval
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule

        self.stem = Focus(3, int(setting[0][0] * widen_factor), kernel_size=3, **layer)
        self.layers = ['stem']
        for i, (cin, cout, num_blocks, add_identity, use_spp) in enumerate(setting):
            cin, cout = int(cin * widen_factor), int(cout * widen_factor)
            stage = [conv(cin, cout, 3, stride=2, padding=1, **layer)]
            if use_spp:
                stage.append(SPPBottleneck(cout, cout, kernel_sizes=spp_kernal_sizes, **layer))
            stage.append(CSPLayer(cout, cout, num_blocks=max(round(num_blocks * deepen_factor), 1),
                                  add_identity=add_identity, use_depthwise=use_depthwise,
                                  **layer))
            self.add_module(f'stage{i + 1}', nn.Sequential(*stage))
            self.layers.append(f'stage{i + 1}')

    def _freeze_stages(self) -> None:
        for name in self.layers[:self.frozen_stages + 1]:
            module = getattr(self, name)
            freeze(module)

    def train(self, mode: bool = True) -> 'CSPDarknet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_to_eval(self)
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) → one map per ``out_indices`` entry."""
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

"""EfficientNet (Tan & Le, 2019) and EfficientNet-EdgeTPU, as mmdetection 2.x's (after mmcls).

Shapes: input (N, 3, H, W); ``layers[i]`` outputs (N, C_i, H / s_i, W / s_i) with strides
2, 2, 4, 8, 16, 32, 32 for the 'b' family (the stem, then one entry per merged stage, then the
final 1x1 conv); ``out_indices`` index ``layers``, and only the layers up to the largest index
are built (as 2.x, so that checkpoints of detectors match).
"""
import copy
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES
from ..layers.transformer import DropPath
from ..utils.conv_module import ConvModule
from ..utils.inverted_residual import InvertedResidual
from ..utils.make_divisible import make_divisible
from ..utils.se_layer import SELayer
from ...core.utils.errors import ConfigKeyError

# a block: [kernel_size, out_channels, se_ratio, stride, expand_ratio, block_type]
# (block_type 0: inverted residual, 1: EdgeTPU fused residual, -1: plain conv)
BlockCfg = List[float]


class EdgeResidual(nn.Module):
    """EdgeTPU's fused block: k x k conv (``mid_channels``) → [SE] → 1x1 conv with the stride
    (no activation), plus the input when the stride is 1, the widths match and
    ``with_residual``. (N, in, H, W) → (N, out, H / stride, W / stride)."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int,
                 kernel_size: int = 3, stride: int = 1, se_cfg: Optional[dict] = None,
                 with_residual: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 drop_path_rate: float = 0., with_cp: bool = False, **kwargs):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'EdgeResidual stride must be 1 or 2, got {stride}')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        act_cfg = dict(type='ReLU') if act_cfg is None else act_cfg
        self.with_cp = with_cp
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.with_se = se_cfg is not None
        self.with_residual = stride == 1 and in_channels == out_channels and with_residual
        self.conv1 = ConvModule(in_channels, mid_channels, kernel_size, stride=1,
                                padding=kernel_size // 2, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        if self.with_se:
            self.se = SELayer(**se_cfg)
        self.conv2 = ConvModule(mid_channels, out_channels, 1, stride=stride, padding=0,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)

    def _inner(self, x: Tensor) -> Tensor:
        out = self.conv1(x)
        if self.with_se:
            out = self.se(out)
        out = self.conv2(out)
        return x + self.drop_path(out) if self.with_residual else out

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, use_reentrant=False)
        return self._inner(x)


def model_scaling(layer_setting: List[List[BlockCfg]],
                  arch_setting: Sequence[float]) -> List[List[BlockCfg]]:
    """Scale a stage table by (width, depth) factors, as EfficientNet's compound scaling.

    Widths: every ``out_channels`` times the width factor, rounded by ``make_divisible(., 8)``.
    Depths: the middle stages are split where the width changes, each run of blocks grows to
    ``ceil(depth * count)`` (repeating its last block) or is cut, and runs that start with
    stride 1 are merged back into the previous stage. The first (stem) and last (1x1 conv)
    entries stay single.
    """
    width, depth = arch_setting[0], arch_setting[1]
    table = copy.deepcopy(layer_setting)
    for layer in table:
        for block in layer:
            block[1] = make_divisible(block[1] * width, 8)
    runs = []
    for layer in table[1:-1]:
        start = 0
        for i in range(1, len(layer) + 1):
            if i == len(layer) or layer[i][1] != layer[i - 1][1]:
                runs.append(layer[start:i])
                start = i
    merged = [table[0]]
    for i, run in enumerate(runs):
        count = int(math.ceil(depth * len(run)))
        scaled = (run[:count] if count <= len(run)
                  else copy.deepcopy(run) + [run[-1]] * (count - len(run)))
        if scaled[0][3] == 1 and i != 0:
            merged[-1] = merged[-1] + scaled
        else:
            merged.append(list(scaled))
    merged.append(table[-1])
    return merged


@BACKBONES.register_module()
class EfficientNet(BaseModule):
    """EfficientNet.

    Args:
        arch: 'b0'..'b8' or EdgeTPU 'es', 'em', 'el' (key of ``arch_settings``: width factor,
            depth factor, image size; the first letter picks ``layer_settings``).
        drop_path_rate: stochastic depth, growing linearly over the blocks.
        out_indices: indices into ``layers`` to return.
        frozen_stages: freeze ``layers[:frozen_stages]``.
        conv_cfg / norm_cfg / act_cfg: layer configs ('Conv2dAdaptivePadding' pads as
            TensorFlow's 'SAME').
        norm_eval: keep BatchNorms in eval mode while training.
        with_cp: gradient checkpointing in the blocks.
        init_cfg: ``dict(type='Pretrained', checkpoint=..., prefix='backbone')`` (a local file or
            a cached name, never downloaded) or the default Kaiming/constant init.
    """

    layer_settings = {
        'b': [[[3, 32, 0, 2, 0, -1]],
              [[3, 16, 4, 1, 1, 0]],
              [[3, 24, 4, 2, 6, 0], [3, 24, 4, 1, 6, 0]],
              [[5, 40, 4, 2, 6, 0], [5, 40, 4, 1, 6, 0]],
              [[3, 80, 4, 2, 6, 0], [3, 80, 4, 1, 6, 0], [3, 80, 4, 1, 6, 0],
               [5, 112, 4, 1, 6, 0], [5, 112, 4, 1, 6, 0], [5, 112, 4, 1, 6, 0]],
              [[5, 192, 4, 2, 6, 0], [5, 192, 4, 1, 6, 0], [5, 192, 4, 1, 6, 0],
               [5, 192, 4, 1, 6, 0], [3, 320, 4, 1, 6, 0]],
              [[1, 1280, 0, 1, 0, -1]]],
        'e': [[[3, 32, 0, 2, 0, -1]],
              [[3, 24, 0, 1, 3, 1]],
              [[3, 32, 0, 2, 8, 1], [3, 32, 0, 1, 8, 1]],
              [[3, 48, 0, 2, 8, 1], [3, 48, 0, 1, 8, 1], [3, 48, 0, 1, 8, 1],
               [3, 48, 0, 1, 8, 1]],
              [[5, 96, 0, 2, 8, 0], [5, 96, 0, 1, 8, 0], [5, 96, 0, 1, 8, 0],
               [5, 96, 0, 1, 8, 0], [5, 96, 0, 1, 8, 0], [5, 144, 0, 1, 8, 0],
               [5, 144, 0, 1, 8, 0], [5, 144, 0, 1, 8, 0], [5, 144, 0, 1, 8, 0]],
              [[5, 192, 0, 2, 8, 0], [5, 192, 0, 1, 8, 0]],
              [[1, 1280, 0, 1, 0, -1]]],
    }

    arch_settings = {
        'b0': (1.0, 1.0, 224), 'b1': (1.0, 1.1, 240), 'b2': (1.1, 1.2, 260),
        'b3': (1.2, 1.4, 300), 'b4': (1.4, 1.8, 380), 'b5': (1.6, 2.2, 456),
        'b6': (1.8, 2.6, 528), 'b7': (2.0, 3.1, 600), 'b8': (2.2, 3.6, 672),
        'es': (1.0, 1.0, 224), 'em': (1.0, 1.1, 240), 'el': (1.2, 1.4, 300),
    }

    def __init__(self, arch: str = 'b0', drop_path_rate: float = 0.,
                 out_indices: Sequence[int] = (6,), frozen_stages: int = 0,
                 conv_cfg: Optional[dict] = dict(type='Conv2dAdaptivePadding'),
                 norm_cfg: Optional[dict] = dict(type='BN', eps=1e-3),
                 act_cfg: Optional[dict] = dict(type='Swish'), norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Kaiming', layer='Conv2d'),
                     dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1)]):
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ConfigKeyError(f'EfficientNet arch={arch!r}; use one of {list(self.arch_settings)}')
        self.arch_setting = self.arch_settings[arch]
        stages = self.layer_settings[arch[:1]]
        if any(i not in range(len(stages)) for i in out_indices):
            raise ValueError(f'EfficientNet out_indices {tuple(out_indices)} must be in '
                             f'range({len(stages)})')
        if frozen_stages not in range(len(stages) + 1):
            raise ValueError(f'EfficientNet frozen_stages={frozen_stages} must be in '
                             f'[0, {len(stages)}]')
        self.drop_path_rate = drop_path_rate
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.layer_setting = model_scaling(stages, self.arch_setting)
        stem, last = self.layer_setting[0][0], self.layer_setting[-1][0]
        self.in_channels = make_divisible(stem[1], 8)
        self.out_channels = last[1]
        layer = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.layers = nn.ModuleList([ConvModule(3, self.in_channels, stem[0], stride=stem[3],
                                                padding=stem[0] // 2, **layer)])
        self.make_layer()
        if len(self.layers) < max(self.out_indices) + 1:
            self.layers.append(ConvModule(self.in_channels, self.out_channels, last[0],
                                          stride=last[3], padding=last[0] // 2, **layer))

    def make_layer(self) -> None:
        """Append the block stages up to the last one ``out_indices`` needs."""
        stages = self.layer_setting[1:-1]
        rates = torch.linspace(0, self.drop_path_rate, sum(len(s) for s in stages)).tolist()
        block_idx = 0
        for s, stage in enumerate(stages):
            if s > max(self.out_indices) - 1:
                break
            blocks = []
            for i, (kernel, channels, se_ratio, stride, expand, block_type) in enumerate(stage):
                out_channels = make_divisible(channels, 8)
                with_residual = True
                if block_type == 1 and i > 0 and expand == 3:
                    # EdgeTPU: later blocks of a 3x-expansion stage widen to 4x, no shortcut
                    with_residual, expand = False, 4
                mid_channels = int(self.in_channels * expand)
                se_cfg = None if se_ratio <= 0 else dict(
                    channels=mid_channels, ratio=expand * se_ratio,
                    act_cfg=(self.act_cfg, dict(type='Sigmoid')))
                common = dict(in_channels=self.in_channels, out_channels=out_channels,
                              mid_channels=mid_channels, kernel_size=kernel, stride=stride,
                              se_cfg=se_cfg, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                              act_cfg=self.act_cfg, drop_path_rate=rates[block_idx],
                              with_cp=self.with_cp)
                if block_type == 1:
                    blocks.append(EdgeResidual(with_residual=with_residual, **common))
                else:
                    blocks.append(InvertedResidual(
                        with_expand_conv=mid_channels != self.in_channels, **common))
                self.in_channels = out_channels
                block_idx += 1
            self.layers.append(nn.Sequential(*blocks))

    def init_weights(self) -> None:
        """Load ``init_cfg`` 'Pretrained' (never a download), else its initialisers."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is None:
            super().init_weights()
            return
        load_pretrained(self, pretrained['checkpoint'], prefix=pretrained.get('prefix'))
        self._is_init = True

    def _freeze_stages(self) -> None:
        for module in list(self.layers)[:self.frozen_stages]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'EfficientNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) → one map per ``out_indices`` entry."""
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

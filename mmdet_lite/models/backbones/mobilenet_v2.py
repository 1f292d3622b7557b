"""MobileNetV2 (Sandler et al., 2018), as mmdetection 2.x's.

Shapes: input (N, 3, H, W); ``conv1`` halves it; layer ``i`` of ``['layer1', ..., 'layer7',
'conv2']`` outputs (N, C_i, H / s_i, W / s_i) with C_i = ``make_divisible(channel * widen_factor,
8)`` of ``arch_settings`` (``conv2``: 1280, or 1280 * widen_factor above 1) and s_i = 2, 4, 8,
16, 16, 32, 32, 32; ``out_indices`` index that list.
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES
from ..utils.freezing import batch_norms_to_eval, freeze
from ..utils.conv_module import ConvModule
from ..utils.inverted_residual import InvertedResidual
from ..utils.make_divisible import make_divisible
from ..utils.pretrained import init_cfg_with_pretrained


@BACKBONES.register_module()
class MobileNetV2(BaseModule):
    """MobileNetV2.

    Args:
        widen_factor: channel multiplier.
        out_indices: indices into ``['layer1', ..., 'layer7', 'conv2']`` to return.
        frozen_stages: freeze ``conv1`` and layers 1..frozen_stages (-1: none).
        conv_cfg / norm_cfg / act_cfg: layer configs (ReLU6).
        norm_eval: keep BatchNorms in eval mode while training.
        with_cp: gradient checkpointing in the blocks.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` (a local file or cached name, never
            downloaded) or ``None`` (Kaiming convs, unit norms).
    """

    # per layer: expand_ratio, channel, num_blocks, stride
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, widen_factor: float = 1., out_indices: Sequence[int] = (1, 2, 4, 7),
                 frozen_stages: int = -1, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 norm_eval: bool = False, with_cp: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        init_cfg = init_cfg_with_pretrained('MobileNetV2', pretrained, init_cfg)
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        if not set(out_indices) <= set(range(8)):
            raise ValueError(f'MobileNetV2 out_indices {tuple(out_indices)} must be in range(8)')
        if frozen_stages not in range(-1, 8):
            raise ValueError(f'MobileNetV2 frozen_stages={frozen_stages} must be in [-1, 7]')
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.act_cfg = dict(type='ReLU6') if act_cfg is None else act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        layer = dict(conv_cfg=conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, self.in_channels, 3, stride=2, padding=1, **layer)
        self.layers = []
        for i, (expand_ratio, channel, num_blocks, stride) in enumerate(self.arch_settings):
            self.add_module(f'layer{i + 1}', self.make_layer(
                make_divisible(channel * widen_factor, 8), num_blocks, stride, expand_ratio))
            self.layers.append(f'layer{i + 1}')
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(self.in_channels, self.out_channel, 1, stride=1, padding=0,
                                **layer)
        self.layers.append('conv2')

    def make_layer(self, out_channels: int, num_blocks: int, stride: int,
                   expand_ratio: int) -> nn.Sequential:
        """``num_blocks`` inverted residual blocks, the first with ``stride``."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(InvertedResidual(
                self.in_channels, out_channels,
                mid_channels=int(round(self.in_channels * expand_ratio)),
                stride=stride if i == 0 else 1, with_expand_conv=expand_ratio != 1,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def init_weights(self) -> None:
        """Load ``init_cfg`` 'Pretrained' (never a download), else its initialisers."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is None:
            super().init_weights()
            return
        load_pretrained(self, pretrained['checkpoint'], prefix=pretrained.get('prefix'))
        self._is_init = True

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            module = getattr(self, f'layer{i}')
            freeze(module)

    def train(self, mode: bool = True) -> 'MobileNetV2':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_to_eval(self)
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) → one map per ``out_indices`` entry."""
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

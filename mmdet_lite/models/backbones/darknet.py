"""Darknet-53 (YOLOv3's backbone), as mmdetection 2.x's.

Shapes: input (N, 3, H, W); layer ``i`` of ``['conv1', 'conv_res_block1', ...]`` outputs
(N, C_i, H / 2**i, W / 2**i) with C = 32, 64, 128, 256, 512, 1024; ``out_indices`` index that
list (default: strides 8, 16, 32).
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES
from ..utils.freezing import batch_norms_to_eval, freeze
from ..utils.conv_module import ConvModule
from ..utils.pretrained import init_cfg_with_pretrained

_LEAKY = dict(type='LeakyReLU', negative_slope=0.1)


class ResBlock(nn.Module):
    """1x1 conv to half width, 3x3 conv back, plus the input. (N, C, H, W) → same."""

    def __init__(self, in_channels: int, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None):
        super().__init__()
        if in_channels % 2:
            raise ValueError(f'Darknet ResBlock needs an even in_channels, got {in_channels}')
        cfg = dict(conv_cfg=conv_cfg,
                   norm_cfg=dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg,
                   act_cfg=dict(_LEAKY) if act_cfg is None else act_cfg)
        self.conv1 = ConvModule(in_channels, in_channels // 2, 1, **cfg)
        self.conv2 = ConvModule(in_channels // 2, in_channels, 3, padding=1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.conv1(x)) + x


@BACKBONES.register_module()
class Darknet(BaseModule):
    """Darknet.

    Args:
        depth: only 53 (key of ``arch_settings``: blocks per stage, (in, out) widths).
        out_indices: indices into ``['conv1', 'conv_res_block1', ...]`` to return.
        frozen_stages: freeze the first ``frozen_stages`` entries of that list (-1: none).
        conv_cfg / norm_cfg / act_cfg: layer configs (LeakyReLU 0.1).
        norm_eval: keep BatchNorms in eval mode while training.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` (e.g. 'open-mmlab://darknet53',
            a cached file, never downloaded) or ``None`` (Kaiming convs, unit norms).
    """

    arch_settings = {
        53: ((1, 2, 8, 8, 4), ((32, 64), (64, 128), (128, 256), (256, 512), (512, 1024))),
    }

    def __init__(self, depth: int = 53, out_indices: Sequence[int] = (3, 4, 5),
                 frozen_stages: int = -1, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 norm_eval: bool = True, pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth!r} for Darknet; use one of '
                           f'{sorted(self.arch_settings, key=str)}')
        init_cfg = init_cfg_with_pretrained('Darknet', pretrained, init_cfg)
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        self.depth = depth
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.layers, self.channels = self.arch_settings[depth]
        cfg = dict(conv_cfg=conv_cfg,
                   norm_cfg=dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg,
                   act_cfg=dict(_LEAKY) if act_cfg is None else act_cfg)
        self.conv1 = ConvModule(3, 32, 3, padding=1, **cfg)
        self.cr_blocks = ['conv1']
        for i, repeats in enumerate(self.layers):
            name = f'conv_res_block{i + 1}'
            self.add_module(name, self.make_conv_res_block(*self.channels[i], repeats, **cfg))
            self.cr_blocks.append(name)

    @staticmethod
    def make_conv_res_block(in_channels: int, out_channels: int, res_repeat: int,
                            conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                            act_cfg: Optional[dict] = None) -> nn.Sequential:
        """A stride-2 3x3 conv (``conv``) then ``res_repeat`` ResBlocks (``res0``, ...)."""
        cfg = dict(conv_cfg=conv_cfg,
                   norm_cfg=dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg,
                   act_cfg=dict(_LEAKY) if act_cfg is None else act_cfg)
        block = nn.Sequential()
        block.add_module('conv', ConvModule(in_channels, out_channels, 3, stride=2, padding=1,
                                            **cfg))
        for i in range(res_repeat):
            block.add_module(f'res{i}', ResBlock(out_channels, **cfg))
        return block

    def init_weights(self) -> None:
        """Load ``init_cfg`` 'Pretrained' (never a download), else its initialisers."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is None:
            super().init_weights()
            return
        load_pretrained(self, pretrained['checkpoint'], prefix=pretrained.get('prefix'))
        self._is_init = True

    def _freeze_stages(self) -> None:
        for name in self.cr_blocks[:max(self.frozen_stages, 0)]:
            module = getattr(self, name)
            freeze(module)

    def train(self, mode: bool = True) -> 'Darknet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_to_eval(self)
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) → one map per ``out_indices`` entry."""
        outs = []
        for i, name in enumerate(self.cr_blocks):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

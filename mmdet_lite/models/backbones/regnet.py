"""RegNetX (Radosavovic et al., 2020) with mmdetection 2.x names: a 3x3/2 stem (``conv1``,
``bn1``, no max-pool) and four stages of ResNeXt Bottlenecks without expansion.

The per-block widths follow the quantised linear rule of the paper from ``arch`` =
``dict(w0, wa, wm, group_w, depth, bot_mul)`` (or a name of ``arch_settings``); consecutive
blocks of equal width form a stage. Shapes: input (N, in_channels, H, W); stage ``i`` outputs
(N, stage_widths[i], H / 2**(i + 2), W / 2**(i + 2)) with the default strides.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from torch import Tensor, nn

from ..builder import BACKBONES
from ..layers.conv import build_conv_layer
from ..layers.norm import build_norm_layer
from .resnet import ResNet
from .resnext import Bottleneck as _ResNeXtBottleneck
from ...core.utils.errors import ConfigKeyError

_ARCH_KEYS = ('w0', 'wa', 'wm', 'group_w', 'depth', 'bot_mul')


class Bottleneck(_ResNeXtBottleneck):
    """ResNeXt Bottleneck with ``expansion = 1``: a stage outputs ``planes`` channels."""

    expansion = 1


def generate_regnet(initial_width: int, width_slope: float, width_parameter: float, depth: int,
                    divisor: int = 8) -> Tuple[List[int], int]:
    """Per-block widths ``w0 * wm**round(log(u_j / w0) / log(wm))`` of the linear widths
    ``u_j = w0 + wa * j``, rounded to multiples of ``divisor``; and the number of stages."""
    if width_slope < 0 or initial_width <= 0 or width_parameter <= 1 or initial_width % divisor:
        raise ValueError(f'RegNet arch needs wa >= 0, w0 > 0 divisible by {divisor} and wm > 1; '
                         f'got w0={initial_width}, wa={width_slope}, wm={width_parameter}')
    widths_cont = np.arange(depth) * width_slope + initial_width
    ks = np.round(np.log(widths_cont / initial_width) / np.log(width_parameter))
    widths = initial_width * np.power(width_parameter, ks)
    widths = np.round(np.divide(widths, divisor)) * divisor
    return widths.astype(int).tolist(), len(np.unique(widths))


def get_stages_from_blocks(widths: List[int]) -> Tuple[List[int], List[int]]:
    """Width and number of blocks of each run of equal consecutive block widths."""
    stage_widths, stage_blocks = [], []
    for w in widths:
        if stage_widths and stage_widths[-1] == w:
            stage_blocks[-1] += 1
        else:
            stage_widths.append(w)
            stage_blocks.append(1)
    return stage_widths, stage_blocks


def adjust_width_group(widths: List[int], bottleneck_ratio: List[float],
                       groups: List[int]) -> Tuple[List[int], List[int]]:
    """Make each stage's bottleneck width a multiple of its group width (as the paper)."""
    bottleneck_width = [int(w * b) for w, b in zip(widths, bottleneck_ratio)]
    groups = [min(g, w_bot) for g, w_bot in zip(groups, bottleneck_width)]
    bottleneck_width = [int(round(w_bot / g) * g) for w_bot, g in zip(bottleneck_width, groups)]
    widths = [int(w_bot / b) for w_bot, b in zip(bottleneck_width, bottleneck_ratio)]
    return widths, groups


@BACKBONES.register_module()
class RegNet(ResNet):
    """RegNetX.

    Args:
        arch: a name of ``arch_settings`` (``'regnetx_3.2gf'``, ...) or ``dict(w0=88, wa=26.31,
            wm=2.25, group_w=48, depth=25, bot_mul=1.0)``.
        stem_channels: channels of the 3x3/2 stem conv.
        base_channels: kept for 2.x compatibility; the stage widths come from ``arch``.
        Other arguments: as ResNet (``strides`` default to (2, 2, 2, 2): there is no max-pool).
    """

    arch_settings = {
        'regnetx_400mf': dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0),
        'regnetx_800mf': dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0),
        'regnetx_1.6gf': dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=18, bot_mul=1.0),
        'regnetx_3.2gf': dict(w0=88, wa=26.31, wm=2.25, group_w=48, depth=25, bot_mul=1.0),
        'regnetx_4.0gf': dict(w0=96, wa=38.65, wm=2.43, group_w=40, depth=23, bot_mul=1.0),
        'regnetx_6.4gf': dict(w0=184, wa=60.83, wm=2.07, group_w=56, depth=17, bot_mul=1.0),
        'regnetx_8.0gf': dict(w0=80, wa=49.56, wm=2.88, group_w=120, depth=23, bot_mul=1.0),
        'regnetx_12gf': dict(w0=168, wa=73.36, wm=2.37, group_w=112, depth=19, bot_mul=1.0),
    }

    def __init__(self, arch: Union[str, dict], in_channels: int = 3, stem_channels: int = 32,
                 base_channels: int = 32, strides: Sequence[int] = (2, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3), style: str = 'pytorch',
                 deep_stem: bool = False, avg_down: bool = False, frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 norm_eval: bool = True, dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[List[dict]] = None, with_cp: bool = False,
                 zero_init_residual: bool = True, pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise ConfigKeyError(f'RegNet arch {arch!r} is unknown; use one of '
                                     f'{sorted(self.arch_settings)} or a dict with keys {_ARCH_KEYS}')
            arch = self.arch_settings[arch]
        elif not isinstance(arch, dict) or any(k not in arch for k in _ARCH_KEYS):
            raise ValueError(f'RegNet arch must be a name of arch_settings or a dict with keys '
                             f'{_ARCH_KEYS}, got {arch!r}')
        widths, num_stages = generate_regnet(arch['w0'], arch['wa'], arch['wm'], arch['depth'])
        stage_widths, stage_blocks = get_stages_from_blocks(widths)
        self.bottleneck_ratio = [arch['bot_mul']] * num_stages
        self.stage_widths, self.group_widths = adjust_width_group(
            stage_widths, self.bottleneck_ratio, [arch['group_w']] * num_stages)
        self.arch = dict(arch)
        self._regnet_stage_blocks = tuple(stage_blocks)
        super().__init__(sum(stage_blocks), in_channels=in_channels,
                         stem_channels=stem_channels, base_channels=base_channels,
                         num_stages=num_stages, strides=strides, dilations=dilations,
                         out_indices=out_indices, style=style, deep_stem=deep_stem,
                         avg_down=avg_down, frozen_stages=frozen_stages, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, norm_eval=norm_eval, dcn=dcn,
                         stage_with_dcn=stage_with_dcn, plugins=plugins, with_cp=with_cp,
                         zero_init_residual=zero_init_residual, pretrained=pretrained,
                         init_cfg=init_cfg)

    def block_and_stage_blocks(self, depth: int) -> Tuple[type, Sequence[int]]:
        """RegNet's Bottleneck and the stage lengths from ``arch`` (``depth`` is their sum)."""
        return Bottleneck, self._regnet_stage_blocks

    def stage_planes(self, stage_idx: int) -> int:
        return self.stage_widths[stage_idx]

    def stage_block_kwargs(self, stage_idx: int) -> dict:
        """Stage ``i`` runs in groups of ``group_widths[i]`` channels."""
        group_width = self.group_widths[stage_idx]
        width = int(round(self.stage_widths[stage_idx] * self.bottleneck_ratio[stage_idx]))
        return dict(groups=width // group_width, base_width=group_width,
                    base_channels=self.stage_widths[stage_idx])

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        """3x3/2 conv + norm + ReLU (``conv1``/``bn1``); no max-pool."""
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 3, stride=2,
                                      padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def _stem(self, x: Tensor) -> Tensor:
        return self.relu(self.norm1(self.conv1(x)))

"""Feature Pyramid Network (Lin et al., 2017) with mmdetection 2.x names (``lateral_convs``, ...).

Shapes: ``N`` images, ``L`` = ``num_outs`` output levels, ``F`` = ``out_channels``. Input: one map
per backbone stage, (N, in_channels[i], H_i, W_i); output: L maps (N, F, H_l, W_l), the extra
levels past the backbone's each halving the previous one (stride-2 conv or 1x1 max-pool).
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError

_EXTRA_MODES = ('on_input', 'on_lateral', 'on_output')


@NECKS.register_module()
class FPN(BaseModule):
    """FPN.

    Args:
        in_channels: channels of each backbone output.
        out_channels: channels of every output level.
        num_outs: number of output levels.
        start_level: first backbone level used.
        end_level: last backbone level used (inclusive); -1 means the last one.
        add_extra_convs: how levels beyond the backbone's are made. ``False``: max-pool the
            last output; ``True`` or ``'on_input'``: a stride-2 3x3 conv on the last used backbone
            input; ``'on_lateral'``: on the last lateral; ``'on_output'``: on the last output.
        relu_before_extra_convs: apply ReLU before the second and later extra convs.
        no_norm_on_lateral: no norm layer in the lateral 1x1 convs.
        conv_cfg / norm_cfg / act_cfg: layer configs of every conv (``ConvModule``).
        upsample_cfg: ``F.interpolate`` arguments for the top-down path; without
            ``scale_factor`` the coarser map is resized to the finer map's exact size.
        init_cfg: Xavier-uniform on every conv, as 2.x.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False, no_norm_on_lateral: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 upsample_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Xavier', layer='Conv2d', distribution='uniform')
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'in_channels must be a list of ints, got {in_channels!r}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(mode='nearest') if upsample_cfg is None else copy.deepcopy(
            dict(upsample_cfg))

        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ConfigValueError(f'num_outs={num_outs} is smaller than the '
                                       f'{self.num_ins - start_level} backbone levels used '
                                       f'(in_channels={self.in_channels}, '
                                       f'start_level={start_level}); raise num_outs or start_level')
        else:
            self.backbone_end_level = end_level + 1
            if not (0 <= end_level < self.num_ins and num_outs == end_level - start_level + 1):
                raise ConfigValueError(f'end_level={end_level} needs 0 <= end_level < '
                                       f'{self.num_ins} and num_outs == end_level - start_level + 1 '
                                       f'(got num_outs={num_outs}, start_level={start_level})')
        if not 0 <= start_level < self.backbone_end_level:
            raise ValueError(f'start_level={start_level} must be in [0, '
                             f'{self.backbone_end_level})')
        self.start_level = start_level
        self.end_level = end_level

        if isinstance(add_extra_convs, str):
            if add_extra_convs not in _EXTRA_MODES:
                raise ConfigValueError(
                    f'add_extra_convs={add_extra_convs!r}; use False, True or one '
                    f'of {_EXTRA_MODES}')
        elif add_extra_convs:
            add_extra_convs = 'on_input'
        self.add_extra_convs = add_extra_convs

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(self.start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(
                self.in_channels[i], out_channels, 1, conv_cfg=conv_cfg,
                norm_cfg=None if no_norm_on_lateral else norm_cfg, act_cfg=act_cfg,
                inplace=False))
            self.fpn_convs.append(ConvModule(
                out_channels, out_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                act_cfg=act_cfg, inplace=False))

        extra_levels = num_outs - self.backbone_end_level + self.start_level
        if self.add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                if i == 0 and self.add_extra_convs == 'on_input':
                    extra_in = self.in_channels[self.backbone_end_level - 1]
                else:
                    extra_in = out_channels
                self.fpn_convs.append(ConvModule(
                    extra_in, out_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """``len(in_channels)`` maps (N, in_channels[i], H_i, W_i) → ``num_outs`` (N, F, ., .)."""
        laterals = self._top_down(inputs)
        outs = [self.fpn_convs[i](lateral) for i, lateral in enumerate(laterals)]
        return tuple(self._add_extra_levels(inputs, laterals, outs))

    def _top_down(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """The lateral 1x1 convs, each coarser one upsampled and added to the next finer one."""
        if len(inputs) != self.num_ins:
            raise ValueError(f'{type(self).__name__} was built for {self.num_ins} inputs '
                             f'(in_channels={self.in_channels}) but got {len(inputs)}; check '
                             "the backbone's out_indices")
        laterals = [conv(inputs[i + self.start_level])
                    for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            if 'scale_factor' in self.upsample_cfg:
                up = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                up = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:],
                                   **self.upsample_cfg)
            if torch.is_grad_enabled():
                laterals[i - 1] = laterals[i - 1] + up
            else:  # at test time, no new full-size map (the lateral is this forward's own)
                laterals[i - 1].add_(up)
        return laterals

    def _add_extra_levels(self, inputs: Sequence[Tensor], laterals: List[Tensor],
                          outs: List[Tensor]) -> List[Tensor]:
        """Append levels up to ``num_outs``: max-pools of the last output, or the extra
        stride-2 convs (``fpn_convs[len(laterals):]``) on the source ``add_extra_convs`` names."""
        used_levels = len(laterals)
        if self.num_outs > len(outs):
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used_levels):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                if self.add_extra_convs == 'on_input':
                    source = inputs[self.backbone_end_level - 1]
                elif self.add_extra_convs == 'on_lateral':
                    source = laterals[-1]
                else:
                    source = outs[-1]
                outs.append(self.fpn_convs[used_levels](source))
                for i in range(used_levels + 1, self.num_outs):
                    prev = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                    outs.append(self.fpn_convs[i](prev))
        return outs

"""Feature Pyramid Grids (Chen et al., 2020), as mmdetection 2.x's.

Lateral 1x1 convs (+ extra levels) give the first pathway; each of ``stack_times`` further
pathways ('bu' bottom-up or 'td' top-down) computes every level as the sum of transitions from
the same pathway (previous level), the previous pathway (same level, level above, level below)
and the first pathway (skip); each output level is a transition of its last pathway.

Shapes: ``len(in_channels)`` inputs (N, in_channels[i], H_i, W_i) → ``num_outs`` maps
(N, out_channels, H_l, W_l), each level half the previous.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..builder import NECKS
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError


class Transition(nn.Module):
    """A transition between pyramid levels (``in_channels`` → ``out_channels``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels


class UpInterpolationConv(Transition):
    """Resize by ``scale_factor`` (``F.interpolate``), then a ConvModule ('same' padding)."""

    def __init__(self, in_channels: int, out_channels: int, scale_factor: float = 2,
                 mode: str = 'nearest', align_corners: Optional[bool] = None,
                 kernel_size: int = 3, **conv_kwargs):
        super().__init__(in_channels, out_channels)
        self.mode = mode
        self.scale_factor = scale_factor
        self.align_corners = align_corners
        self.conv = ConvModule(in_channels, out_channels, kernel_size,
                               padding=(kernel_size - 1) // 2, **conv_kwargs)

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode,
                          align_corners=self.align_corners)
        return self.conv(x)


class LastConv(Transition):
    """A ConvModule on the last of ``num_inputs`` maps (the output transition)."""

    def __init__(self, in_channels: int, out_channels: int, num_inputs: int,
                 kernel_size: int = 3, **conv_kwargs):
        super().__init__(in_channels, out_channels)
        self.num_inputs = num_inputs
        self.conv_out = ConvModule(in_channels, out_channels, kernel_size,
                                   padding=(kernel_size - 1) // 2, **conv_kwargs)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        if len(inputs) != self.num_inputs:
            raise ValueError(f'LastConv expects {self.num_inputs} maps, got {len(inputs)}')
        return self.conv_out(inputs[-1])


class _Identity(Transition):
    """Passes the map through (``dict(type='identity')``, FPG's default skip transition)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


@NECKS.register_module()
class FPG(BaseModule):
    """FPG.

    Args:
        in_channels: channels of each backbone output.
        out_channels: channels of every output level.
        num_outs: output levels.
        stack_times: pathways after the lateral one.
        paths: 'bu' or 'td' per pathway.
        inter_channels: width of each level inside the grid (int, list, or out_channels).
        same_down_trans / same_up_trans / across_lateral_trans / across_down_trans /
        across_up_trans / across_skip_trans / output_trans: transition configs,
            ``dict(type='conv' | 'interpolation_conv' | 'last_conv' | 'identity', **kwargs)``
            (``conv`` is a ConvModule) or ``None`` for none.
        start_level / end_level: backbone levels used.
        add_extra_convs: extra levels by stride-2 convs (else 1x1 stride-2 max-pool).
        norm_cfg: unused (as in 2.x; give norms inside the transition configs).
        skip_inds: per level, the pathways that copy the previous pathway's map (in a 'td'
            pathway the copy is placed as 2.x does, by position in the top-down order; the
            released configs skip only in 'bu' pathways).
        init_cfg: Caffe2-Xavier convs and unit norms, as 2.x.
    """

    transition_types = {
        'conv': ConvModule,
        'interpolation_conv': UpInterpolationConv,
        'last_conv': LastConv,
        'identity': _Identity,
    }

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 stack_times: int, paths: Sequence[str],
                 inter_channels: Optional[Union[int, Sequence[int]]] = None,
                 same_down_trans: Optional[dict] = None,
                 same_up_trans: Optional[dict] = dict(type='conv', kernel_size=3, stride=2,
                                                      padding=1),
                 across_lateral_trans: Optional[dict] = dict(type='conv', kernel_size=1),
                 across_down_trans: Optional[dict] = dict(type='conv', kernel_size=3),
                 across_up_trans: Optional[dict] = None,
                 across_skip_trans: Optional[dict] = dict(type='identity'),
                 output_trans: dict = dict(type='last_conv', kernel_size=3),
                 start_level: int = 0, end_level: int = -1, add_extra_convs: bool = False,
                 norm_cfg: Optional[dict] = None,
                 skip_inds: Optional[Sequence[Sequence[int]]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Caffe2Xavier', layer='Conv2d'),
                     dict(type='Constant', val=1.0,
                          layer=['_BatchNorm', '_InstanceNorm', 'GroupNorm', 'LayerNorm'])]):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'FPG in_channels must be a list, got {in_channels!r}')
        if len(paths) != stack_times or any(p not in ('bu', 'td') for p in paths):
            raise ValueError(f"FPG paths {list(paths)} need stack_times={stack_times} entries, "
                             "each 'bu' or 'td'")
        if inter_channels is None:
            inter_channels = [out_channels] * num_outs
        elif isinstance(inter_channels, int):
            inter_channels = [inter_channels] * num_outs
        elif len(inter_channels) != num_outs:
            raise ValueError(f'FPG inter_channels {list(inter_channels)} need num_outs='
                             f'{num_outs} entries')
        self.skip_inds = [[] for _ in range(num_outs)] if skip_inds is None else skip_inds
        if len(self.skip_inds) < num_outs:
            raise ValueError(f'FPG skip_inds needs one entry per output level ({num_outs})')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.inter_channels = list(inter_channels)
        self.stack_times = stack_times
        self.paths = list(paths)
        self.same_down_trans = same_down_trans
        self.same_up_trans = same_up_trans
        self.across_lateral_trans = across_lateral_trans
        self.across_down_trans = across_down_trans
        self.across_up_trans = across_up_trans
        self.output_trans = output_trans
        self.across_skip_trans = across_skip_trans
        self.with_bias = norm_cfg is None
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'FPG num_outs={num_outs} is below the '
                                 f'{self.num_ins - start_level} backbone levels used')
        else:
            self.backbone_end_level = end_level + 1
            if not (end_level < self.num_ins and num_outs == end_level - start_level + 1):
                raise ConfigValueError(f'FPG end_level={end_level} needs end_level < {self.num_ins} '
                                       'and num_outs == end_level - start_level + 1')
        self.start_level = start_level
        self.end_level = end_level
        self.add_extra_convs = add_extra_convs

        ch = self.inter_channels
        self.lateral_convs = nn.ModuleList(
            nn.Conv2d(self.in_channels[i], ch[i - start_level], 1)
            for i in range(start_level, self.backbone_end_level))
        self.extra_downsamples = nn.ModuleList()
        for i in range(num_outs - self.backbone_end_level + start_level):
            if add_extra_convs:
                level = self.backbone_end_level - start_level + i
                self.extra_downsamples.append(
                    nn.Conv2d(ch[level - 1], ch[level], 3, stride=2, padding=1))
            else:
                self.extra_downsamples.append(nn.MaxPool2d(1, stride=2))

        self.fpn_transitions = nn.ModuleList()
        for s in range(stack_times):
            stage = nn.ModuleList()
            for i in range(num_outs):
                trans = nn.ModuleDict()
                if s not in self.skip_inds[i]:
                    top, bottom = i == num_outs - 1, i == 0
                    trans['same_up'] = None if bottom else self.build_trans(
                        same_up_trans, ch[i - 1], ch[i])
                    trans['same_down'] = None if top else self.build_trans(
                        same_down_trans, ch[i + 1], ch[i])
                    trans['across_lateral'] = self.build_trans(across_lateral_trans, ch[i],
                                                               ch[i])
                    trans['across_down'] = None if top else self.build_trans(
                        across_down_trans, ch[i + 1], ch[i])
                    trans['across_up'] = None if bottom else self.build_trans(
                        across_up_trans, ch[i - 1], ch[i])
                    # ch[i - 1]: level 0 reads the last level's width, as 2.x (all equal in
                    # every released config)
                    trans['across_skip'] = self.build_trans(across_skip_trans, ch[i - 1], ch[i])
                stage.append(trans)
            self.fpn_transitions.append(stage)
        self.output_transition = nn.ModuleList(
            self.build_trans(output_trans, ch[i], out_channels, num_inputs=stack_times + 1)
            for i in range(num_outs))
        self.relu = nn.ReLU(inplace=True)

    def build_trans(self, cfg: Optional[dict], in_channels: int, out_channels: int,
                    **extra_args) -> Optional[nn.Module]:
        """The transition of ``cfg`` (``None`` → no transition)."""
        if cfg is None:
            return None
        cfg = dict(cfg)
        trans_type = cfg.pop('type')
        if trans_type not in self.transition_types:
            raise KeyError(f'FPG transition type {trans_type!r}; use one of '
                           f'{sorted(self.transition_types)}')
        return self.transition_types[trans_type](in_channels, out_channels, **cfg, **extra_args)

    @staticmethod
    def fuse(fuse_dict: Dict[str, Optional[Tensor]]) -> Optional[Tensor]:
        """Sum of the non-None maps, in the dict's order."""
        out = None
        for item in fuse_dict.values():
            if item is not None:
                out = item if out is None else out + item
        return out

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        if len(inputs) != self.num_ins:
            raise ValueError(f'FPG was built for {self.num_ins} inputs, got {len(inputs)}')
        feats = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for downsample in self.extra_downsamples:
            feats.append(downsample(feats[-1]))
        pathways = [feats]
        for s, direction in enumerate(self.paths):
            prev = pathways[-1]
            new: List[Tensor] = []
            for j in range(self.num_outs):
                if s in self.skip_inds[j]:
                    new.append(prev[j])
                    continue
                lvl = self.num_outs - j - 1 if direction == 'td' else j
                trans = self.fpn_transitions[s][lvl]
                same = trans['same_down'] if direction == 'td' else trans['same_up']
                to_fuse = dict(same=None, lateral=None, across_up=None, across_down=None)
                if same is not None:
                    to_fuse['same'] = same(new[-1])
                if trans['across_lateral'] is not None:
                    to_fuse['lateral'] = trans['across_lateral'](prev[lvl])
                if lvl > 0 and trans['across_up'] is not None:
                    to_fuse['across_up'] = trans['across_up'](prev[lvl - 1])
                if lvl < self.num_outs - 1 and trans['across_down'] is not None:
                    to_fuse['across_down'] = trans['across_down'](prev[lvl + 1])
                if trans['across_skip'] is not None:
                    to_fuse['across_skip'] = trans['across_skip'](pathways[0][lvl])
                new.append(self.fuse(to_fuse))
            pathways.append(new[::-1] if direction == 'td' else new)
        return [self.output_transition[i]([p[i] for p in pathways])
                for i in range(self.num_outs)]

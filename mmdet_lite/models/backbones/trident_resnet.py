"""TridentNet's ResNet (Li et al., 2019): the last of three stages runs ``num_branch`` branches
that share every weight, their 3x3 convs differing only in dilation (``trident_dilations``).

Shapes: input (N, 3, H, W). Training, or testing with ``test_branch_idx=-1``: the last stage
returns the branches concatenated on the batch axis, (num_branch * N, C, H', W'); testing with
``test_branch_idx=k``: only branch ``k`` runs, (N, C, H', W'). Names are ResNet's
(``layer3.0.conv2.weight`` is the shared trident weight).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from ..builder import BACKBONES
from ..utils.res_layer import make_downsample
from .resnet import Bottleneck, ResNet
from ...core.utils.errors import ConfigValueError

Branches = Union[Tensor, List[Tensor]]


class TridentConv(nn.Module):
    """One conv weight applied to each branch with its own dilation (padding = dilation).

    Args:
        in_channels / out_channels / kernel_size / stride / bias: as ``nn.Conv2d``.
        trident_dilations: dilation (and padding) of each branch.
        test_branch_idx: in eval mode, the one branch run (-1: all).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 trident_dilations: Sequence[int] = (1, 2, 3), test_branch_idx: int = 1,
                 bias: bool = False):
        super().__init__()
        self.num_branch = len(trident_dilations)
        self.with_bias = bias
        self.test_branch_idx = test_branch_idx
        self.stride = _pair(stride)
        self.kernel_size = _pair(kernel_size)
        self.paddings = _pair(trident_dilations)
        self.dilations = tuple(trident_dilations)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter('bias', None)
        nn.init.kaiming_uniform_(self.weight, a=0, mode='fan_in', nonlinearity='relu')

    def forward(self, inputs: List[Tensor]) -> List[Tensor]:
        """One (N, C_in, H, W) map per running branch -> one (N, C_out, H', W') each."""
        if self.training or self.test_branch_idx == -1:
            return [F.conv2d(x, self.weight, self.bias, self.stride, padding, dilation)
                    for x, dilation, padding in zip(inputs, self.dilations, self.paddings)]
        if len(inputs) != 1:
            raise ValueError(f'TridentConv in eval mode with test_branch_idx='
                             f'{self.test_branch_idx} runs one branch, got {len(inputs)} inputs')
        return [F.conv2d(inputs[0], self.weight, self.bias, self.stride,
                         self.paddings[self.test_branch_idx],
                         self.dilations[self.test_branch_idx])]

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, dilations={self.dilations}, '
                f'test_branch_idx={self.test_branch_idx}, bias={self.with_bias}')


class TridentBottleneck(Bottleneck):
    """Bottleneck over branches, whose ``conv2`` is a ``TridentConv``.

    Args:
        trident_dilations: dilation of each branch.
        test_branch_idx: the branch run in eval mode (-1: all).
        concat_output: return the branches concatenated on the batch axis (last block).
        Others: as ResNet's Bottleneck (2.x's order: the three trident arguments first) (``dilation`` is unused: the branches have theirs).
    """

    def __init__(self, trident_dilations: Sequence[int], test_branch_idx: int,
                 concat_output: bool, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None):
        super().__init__(inplanes, planes, stride=stride, downsample=downsample, style=style,
                         with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=dcn,
                         plugins=plugins)
        self.trident_dilations = tuple(trident_dilations)
        self.num_branch = len(trident_dilations)
        self.concat_output = concat_output
        self.test_branch_idx = test_branch_idx
        self.conv2 = TridentConv(planes, planes, kernel_size=3, stride=self.conv2_stride,
                                 bias=False, trident_dilations=self.trident_dilations,
                                 test_branch_idx=test_branch_idx)

    def _branches(self, x: Branches) -> List[Tensor]:
        num_branch = (self.num_branch if self.training or self.test_branch_idx == -1 else 1)
        if isinstance(x, list):
            branches, identity = x, x
        else:
            branches = [x] * num_branch
            identity = (branches if self.downsample is None else
                        [self.downsample(b) for b in branches])
        out = [self.relu(self.norm1(self.conv1(b))) for b in branches]
        out = [self.forward_plugin(b, self.after_conv1_plugin_names) for b in out]
        out = [self.relu(self.norm2(b)) for b in self.conv2(out)]
        out = [self.forward_plugin(b, self.after_conv2_plugin_names) for b in out]
        out = [self.norm3(self.conv3(b)) for b in out]
        out = [self.forward_plugin(b, self.after_conv3_plugin_names) for b in out]
        return [o + i for o, i in zip(out, identity)]

    def forward(self, x: Branches) -> Branches:
        """A map (first block) or a list of branch maps -> list of branch maps, or their
        batch-axis concatenation when ``concat_output``."""
        needs_grad = any(t.requires_grad for t in (x if isinstance(x, list) else [x]))
        if self.with_cp and needs_grad:
            out = cp.checkpoint(self._branches, x, use_reentrant=False)
        else:
            out = self._branches(x)
        out = [self.relu(b) for b in out]
        return torch.cat(out, dim=0) if self.concat_output else out


def make_trident_res_layer(block: type, inplanes: int, planes: int, num_blocks: int,
                           stride: int = 1, trident_dilations: Sequence[int] = (1, 2, 3),
                           style: str = 'pytorch', with_cp: bool = False,
                           conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                           dcn: Optional[dict] = None, plugins: Optional[List[dict]] = None,
                           test_branch_idx: int = -1) -> nn.Sequential:
    """The trident stage: ``num_blocks`` TridentBottlenecks, the first with the stride and a
    strided 1x1 shortcut, the last concatenating the branches."""
    norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = make_downsample(inplanes, planes * block.expansion, stride, False, conv_cfg,
                                     norm_cfg)
    blocks = []
    for i in range(num_blocks):
        blocks.append(block(
            inplanes=inplanes, planes=planes, stride=stride if i == 0 else 1,
            trident_dilations=trident_dilations, downsample=downsample if i == 0 else None,
            style=style, with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=dcn,
            plugins=plugins, test_branch_idx=test_branch_idx,
            concat_output=i == num_blocks - 1))
        inplanes = planes * block.expansion
    return nn.Sequential(*blocks)


@BACKBONES.register_module()
class TridentResNet(ResNet):
    """ResNet-50/101/152 with three stages, the last one trident.

    Args:
        depth: 50, 101 or 152.
        num_branch: number of branches (= ``len(trident_dilations)``).
        test_branch_idx: the branch run in eval mode (-1: all).
        trident_dilations: dilation of each branch.
        **kwargs: ResNet's other arguments; ``num_stages`` must be 3.
    """

    def __init__(self, depth: int, num_branch: int, test_branch_idx: int,
                 trident_dilations: Sequence[int], **kwargs):
        if num_branch != len(trident_dilations):
            raise ValueError(f'num_branch={num_branch} but trident_dilations '
                             f'{tuple(trident_dilations)} has {len(trident_dilations)} entries')
        if depth not in (50, 101, 152):
            raise ConfigValueError(f'TridentResNet depth must be 50, 101 or 152, got {depth}')
        if kwargs.get('num_stages', 4) != 3:
            raise ConfigValueError(
                'TridentResNet needs num_stages=3 (its last stage is the trident one)'
                f", got {kwargs.get('num_stages', 4)}")
        # make_res_layer (called by ResNet.__init__) reads these
        self.test_branch_idx = test_branch_idx
        self.num_branch = num_branch
        self.trident_dilations = tuple(trident_dilations)
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs) -> nn.Module:
        """The last stage is trident (stages are built in order)."""
        if len(self.res_layers) < self.num_stages - 1:
            return super().make_res_layer(**kwargs)
        for replaced in ('block', 'dilation', 'avg_down'):
            kwargs.pop(replaced)
        return make_trident_res_layer(TridentBottleneck, trident_dilations=self.trident_dilations,
                                      test_branch_idx=self.test_branch_idx, **kwargs)

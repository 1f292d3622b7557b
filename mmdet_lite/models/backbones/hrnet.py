"""HRNet (Wang et al., 2019): parallel branches at strides 4, 8, 16, 32 that exchange features.

Shapes: input (N, in_channels, H, W) with H, W multiples of 32; output, one map per branch of
stage 4: (N, C_b, H / 4 / 2**b, W / 4 / 2**b) with C_b = stage4 ``num_channels[b] * expansion``
(only branch 0 when ``multiscale_output=False``). Names as mmdetection 2.x (``stage2.0.branches``,
``stage2.0.fuse_layers``, ``transition1``, ...) so that its checkpoints load strictly.
"""
from typing import Dict, List, Optional, Sequence, Type, Union

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES
from ..utils.freezing import batch_norms_to_eval
from ..layers import build_conv_layer, build_norm_layer
from .resnet import BasicBlock, Bottleneck
from ...core.utils.errors import ConfigKeyError, ConfigValueError
from ..utils.pretrained import init_cfg_with_pretrained


def _conv_norm(conv_cfg: Optional[dict], norm_cfg: dict, in_channels: int, out_channels: int,
               kernel_size: int, stride: int = 1, relu: bool = False) -> nn.Sequential:
    """conv (no bias) → norm [→ ReLU] as an ``nn.Sequential`` (children ``0``, ``1``[, ``2``])."""
    layers = [build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=kernel_size,
                               stride=stride, padding=(kernel_size - 1) // 2, bias=False),
              build_norm_layer(norm_cfg, out_channels)[1]]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


def _block_stack(block: Type[nn.Module], inplanes: int, planes: int, num_blocks: int,
                 with_cp: bool, conv_cfg: Optional[dict], norm_cfg: dict) -> nn.Sequential:
    """``num_blocks`` residual blocks; the first gets a 1x1 conv shortcut if the width changes."""
    out_channels = planes * block.expansion
    downsample = None
    if inplanes != out_channels:
        downsample = _conv_norm(conv_cfg, norm_cfg, inplanes, out_channels, 1)
    blocks = [block(inplanes, planes, downsample=downsample, with_cp=with_cp, conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg)]
    for _ in range(1, num_blocks):
        blocks.append(block(out_channels, planes, with_cp=with_cp, conv_cfg=conv_cfg,
                            norm_cfg=norm_cfg))
    return nn.Sequential(*blocks)


class HRModule(nn.Module):
    """One multi-resolution module: a block stack per branch, then every output branch sums all
    branches brought to its resolution (``fuse_layers[i][j]`` maps branch j to branch i).

    Fusion: j > i: 1x1 conv + norm, then nearest upsampling by 2**(j - i); j < i: (i - j)
    stride-2 3x3 conv + norm steps (ReLU between them); j == i: identity. Each fused sum is
    followed by a ReLU.

    Args:
        num_branches: parallel resolutions.
        blocks: ``BasicBlock`` or ``Bottleneck``.
        num_blocks / num_channels: per branch (block count, block width).
        in_channels: per branch input channels (must equal ``num_channels * expansion``, as in
            every 2.x HRNet config, when there is more than one module).
        multiscale_output: output every branch (True) or only branch 0.
    """

    def __init__(self, num_branches: int, blocks: Type[nn.Module], num_blocks: Sequence[int],
                 in_channels: Sequence[int], num_channels: Sequence[int],
                 multiscale_output: bool = True, with_cp: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None):
        super().__init__()
        for what, seq in (('num_blocks', num_blocks), ('in_channels', in_channels),
                          ('num_channels', num_channels)):
            if len(seq) != num_branches:
                raise ValueError(f'HRModule: num_branches={num_branches} but {what} has '
                                 f'{len(seq)} entries ({tuple(seq)})')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.branches = nn.ModuleList(
            _block_stack(blocks, in_channels[b], num_channels[b], num_blocks[b], with_cp,
                         conv_cfg, norm_cfg) for b in range(num_branches))
        self.in_channels = [c * blocks.expansion for c in num_channels]
        self.fuse_layers = self._make_fuse_layers(conv_cfg, norm_cfg)
        self.relu = nn.ReLU(inplace=False)

    def _make_fuse_layers(self, conv_cfg: Optional[dict],
                          norm_cfg: dict) -> Optional[nn.ModuleList]:
        if self.num_branches == 1:
            return None
        channels = self.in_channels
        fuse_layers = nn.ModuleList()
        for i in range(self.num_branches if self.multiscale_output else 1):
            row = nn.ModuleList()
            for j in range(self.num_branches):
                if j > i:
                    up = _conv_norm(conv_cfg, norm_cfg, channels[j], channels[i], 1)
                    up.append(nn.Upsample(scale_factor=2**(j - i), mode='nearest'))
                    row.append(up)
                elif j == i:
                    row.append(None)
                else:
                    steps = [_conv_norm(conv_cfg, norm_cfg, channels[j], channels[j], 3, stride=2,
                                        relu=True) for _ in range(i - j - 1)]
                    steps.append(_conv_norm(conv_cfg, norm_cfg, channels[j], channels[i], 3,
                                            stride=2))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(row)
        return fuse_layers

    def forward(self, x: List[Tensor]) -> List[Tensor]:
        """Per branch b: (N, in_channels[b], H_b, W_b) → (N, num_channels[b] * expansion, H_b,
        W_b)."""
        x = [branch(feat) for branch, feat in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y = x[i]
            for j, layer in enumerate(row):
                if j != i:
                    y = y + layer(x[j])
            fused.append(self.relu(y))
        return fused


@BACKBONES.register_module()
class HRNet(BaseModule):
    """HRNet backbone, as mmdetection 2.x's.

    Args:
        extra: ``stage1`` ... ``stage4`` dicts with ``num_modules``, ``num_branches``,
            ``block`` ('BASIC' or 'BOTTLENECK'), ``num_blocks`` and ``num_channels`` (one per
            branch). Stage 1 has one branch at stride 4.
        in_channels: input image channels.
        conv_cfg / norm_cfg: layer configs.
        norm_eval: keep BatchNorms in eval mode while training.
        with_cp: gradient checkpointing in the residual blocks.
        zero_init_residual: zero the last norm of every residual block at init.
        multiscale_output: return all stage-4 branches (True) or only the highest resolution.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: default Kaiming init for convs and 1 for norm weights.
    """

    blocks_dict: Dict[str, Type[nn.Module]] = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}

    def __init__(self, extra: dict, in_channels: int = 3, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, norm_eval: bool = True, with_cp: bool = False,
                 zero_init_residual: bool = False, multiscale_output: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        init_cfg = init_cfg_with_pretrained('HRNet', pretrained, init_cfg)
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        for i in range(1, 5):
            stage = extra.get(f'stage{i}') if isinstance(extra, dict) else None
            if stage is None:
                raise ConfigKeyError(f'HRNet extra needs stage1..stage4 dicts; stage{i} is missing')
            if not (len(stage['num_blocks']) == len(stage['num_channels'])
                    == stage['num_branches']):
                raise ConfigValueError(
                    f'HRNet extra.stage{i}: num_blocks {stage["num_blocks"]} and '
                    f'num_channels {stage["num_channels"]} need num_branches='
                    f'{stage["num_branches"]} entries each')
            if stage['block'] not in self.blocks_dict:
                raise KeyError(f'HRNet extra.stage{i}.block={stage["block"]!r}; use one of '
                               f'{sorted(self.blocks_dict)}')
        self.extra = extra
        self.conv_cfg = conv_cfg
        self.norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual

        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, 64, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, 64, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, kernel_size=3, stride=2,
                                      padding=1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, kernel_size=3, stride=2, padding=1,
                                      bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        self.stage1_cfg = extra['stage1']
        block = self.blocks_dict[self.stage1_cfg['block']]
        self.layer1 = _block_stack(block, 64, self.stage1_cfg['num_channels'][0],
                                   self.stage1_cfg['num_blocks'][0], with_cp, conv_cfg,
                                   self.norm_cfg)
        pre_channels = [self.stage1_cfg['num_channels'][0] * block.expansion]
        for i in (2, 3, 4):
            stage_cfg = extra[f'stage{i}']
            setattr(self, f'stage{i}_cfg', stage_cfg)
            expansion = self.blocks_dict[stage_cfg['block']].expansion
            channels = [c * expansion for c in stage_cfg['num_channels']]
            self.add_module(f'transition{i - 1}', self._make_transition(pre_channels, channels))
            stage = self._make_stage(stage_cfg, channels,
                                     multiscale_output if i == 4 else True)
            self.add_module(f'stage{i}', stage)
            pre_channels = channels

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _make_transition(self, pre_channels: List[int], channels: List[int]) -> nn.ModuleList:
        """Existing branches: 3x3 conv if the width changes (else None); each new branch:
        stride-2 3x3 convs from the lowest-resolution previous branch."""
        layers = nn.ModuleList()
        for i, out_channels in enumerate(channels):
            if i < len(pre_channels):
                if out_channels != pre_channels[i]:
                    layers.append(self._transition_conv(pre_channels[i], out_channels, 1))
                else:
                    layers.append(None)
            else:
                steps = []
                for j in range(i + 1 - len(pre_channels)):
                    last = j == i - len(pre_channels)
                    steps.append(self._transition_conv(
                        pre_channels[-1], out_channels if last else pre_channels[-1], 2))
                layers.append(nn.Sequential(*steps))
        return layers

    def _transition_conv(self, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            build_conv_layer(self.conv_cfg, in_channels, out_channels, kernel_size=3,
                             stride=stride, padding=1, bias=False),
            build_norm_layer(self.norm_cfg, out_channels)[1],
            nn.ReLU(inplace=True))

    def _make_stage(self, stage_cfg: dict, in_channels: List[int],
                    multiscale_output: bool) -> nn.Sequential:
        block = self.blocks_dict[stage_cfg['block']]
        modules = []
        for i in range(stage_cfg['num_modules']):
            modules.append(HRModule(
                stage_cfg['num_branches'], block, stage_cfg['num_blocks'], in_channels,
                stage_cfg['num_channels'],
                multiscale_output=multiscale_output or i < stage_cfg['num_modules'] - 1,
                with_cp=self.with_cp, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
            in_channels = modules[-1].in_channels
        return nn.Sequential(*modules)

    def init_weights(self) -> None:
        """Load ``init_cfg`` 'Pretrained' (local file or cached name, never a download), else
        the init_cfg initialisers (+ zeroed last norms with ``zero_init_residual``)."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is not None:
            load_pretrained(self, pretrained['checkpoint'], prefix=pretrained.get('prefix'))
            self._is_init = True
            return
        super().init_weights()
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.norm3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.norm2.weight)

    def forward(self, x: Tensor) -> List[Tensor]:
        """(N, in_channels, H, W) → one map per stage-4 output branch."""
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        feats = [self.layer1(x)]
        for i in (2, 3, 4):
            transition = getattr(self, f'transition{i - 1}')
            # a transition layer reads the lowest-resolution previous branch (2.x behaviour; the
            # layers of existing branches are None in every released config)
            feats = [feats[b] if layer is None else layer(feats[-1])
                     for b, layer in enumerate(transition)]
            feats = getattr(self, f'stage{i}')(feats)
        return feats

    def train(self, mode: bool = True) -> 'HRNet':
        """Train mode that keeps BatchNorms in eval when ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            batch_norms_to_eval(self)
        return self

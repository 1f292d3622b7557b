"""ResNet backbone with mmdetection 2.x names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...).

Shapes: ``N`` images, input (N, in_channels, H, W); stage ``i`` (0-based) outputs
(N, base_channels * 2**i * expansion, H / s_i, W / s_i) with s_i = 4 * prod(strides[:i + 1]).
The torchvision ImageNet checkpoints use the same names, so they load without conversion.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.utils.checkpoint as cp
from mmcv.cnn import ContextBlock, ConvAWS2d
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES
from ..utils.freezing import batch_norms_to_eval
from ..layers.conv import build_conv_layer
from ..layers.deform_conv import DeformConv2dPack
from ..layers.modulated_deform_conv import ModulatedDeformConv2dPack
from ..layers.norm import build_norm_layer
from ..layers.plugin import build_plugin_layer
from ..layers.saconv import SAConv2d
from ..utils.res_layer import ResLayer
from ...core.utils.errors import ConfigNotImplementedError, ConfigValueError
from ..utils.pretrained import init_cfg_with_pretrained


class _ResBlock(nn.Module):
    """What BasicBlock and Bottleneck share: the ``norm1``/``norm2`` properties and a forward
    of ``relu(_residual(x))``, the residual branch under gradient checkpointing if ``with_cp``.

    Subclasses set ``norm1_name``, ``norm2_name``, ``relu`` and ``with_cp`` and define
    ``_residual`` (N, inplanes, H, W) -> (N, planes * expansion, H / stride, W / stride).
    """

    norm1_name: str
    norm2_name: str
    with_cp: bool

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)


class BasicBlock(_ResBlock):
    """Two 3x3 convs (ResNet-18/34); ``style`` has no effect here."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None):
        super().__init__()
        if dcn is not None or plugins is not None:
            raise ConfigNotImplementedError(
                'BasicBlock (ResNet-18/34) supports neither dcn nor plugins, '
                'as in mmdetection 2.x; use depth 50/101/152 for them')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity  # in place: no new feature-map allocation (norm outputs are not saved)
        return out


class Bottleneck(_ResBlock):
    """1x1 → 3x3 → 1x1 convs (ResNet-50/101/152), optionally a deformable 3x3 and plugins.

    ``style='pytorch'`` puts the stride on the 3x3 conv (torchvision, "ResNet v1.5"),
    ``style='caffe'`` on the first 1x1 conv (the original Caffe models).

    Args:
        dcn: conv config of the 3x3 conv (``dict(type='DCN'|'DCNv2', deform_groups=1,
            fallback_on_stride=False)``); ``fallback_on_stride=True`` keeps a plain conv.
        plugins: ``[dict(cfg=dict(type='ContextBlock', ...), position='after_conv1'|
            'after_conv2'|'after_conv3', postfix=...)]``: layers run after that conv (and its
            norm/ReLU), named by ``layers.build_plugin_layer`` (``context_block``, ...).
        mid_channels: width of conv1/conv2 (default ``planes``; ResNeXt's grouped width).
        conv2_groups: groups of the 3x3 conv (ResNeXt's cardinality).
    """

    expansion = 4
    # Variants whose middle stage is not one 3x3 conv + norm (Res2Net, ResNeSt) build it
    # themselves.
    _with_conv2 = True

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None, mid_channels: Optional[int] = None,
                 conv2_groups: int = 1):
        super().__init__()
        if style not in ('pytorch', 'caffe'):
            raise ConfigValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        if dcn is not None and not isinstance(dcn, dict):
            raise TypeError(f"dcn must be None or a conv config dict such as dict(type='DCN', "
                            f'deform_groups=1, fallback_on_stride=False), got {dcn!r}')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.dcn = dcn
        self.with_dcn = dcn is not None
        self.plugins = plugins
        self.with_plugins = plugins is not None
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        width = planes if mid_channels is None else mid_channels
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=self.conv1_stride,
                                      bias=False)
        self.add_module(self.norm1_name, norm1)
        if self._with_conv2:
            self.norm2_name, norm2 = build_norm_layer(norm_cfg, width, postfix=2)
            self.conv2 = build_conv_layer(self.conv2_cfg(), width, width, 3,
                                          stride=self.conv2_stride, padding=dilation,
                                          dilation=dilation, groups=conv2_groups, bias=False)
            self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.after_conv1_plugin_names: List[str] = []
        self.after_conv2_plugin_names: List[str] = []
        self.after_conv3_plugin_names: List[str] = []
        if plugins is not None:
            positions = ('after_conv1', 'after_conv2', 'after_conv3')
            bad = [p.get('position') for p in plugins if p.get('position') not in positions]
            if bad:
                raise ConfigValueError(
                    f'plugin positions {bad} are unknown; use one of {positions}')
            for position, channels in zip(positions, (width, width, planes * self.expansion)):
                names = self.make_block_plugins(
                    channels, [p['cfg'] for p in plugins if p['position'] == position])
                setattr(self, f'{position}_plugin_names', names)

    def conv2_cfg(self) -> Optional[dict]:
        """The conv config of the 3x3 conv: ``dcn`` (less ``fallback_on_stride``) or
        ``conv_cfg``."""
        if self.dcn is None or self.dcn.get('fallback_on_stride', False):
            return self.conv_cfg
        if self.conv_cfg is not None:
            raise ConfigValueError(f'conv_cfg must be None when dcn is set (got conv_cfg='
                                   f'{self.conv_cfg!r}, dcn={self.dcn!r}), as in mmdetection 2.x')
        return {k: v for k, v in self.dcn.items() if k != 'fallback_on_stride'}

    def make_block_plugins(self, in_channels: int, plugins: List[dict]) -> List[str]:
        """Add the plugin layers of ``plugins`` (configs) for ``in_channels``; their names."""
        names = []
        for plugin in plugins:
            plugin = dict(plugin)
            name, layer = build_plugin_layer(plugin, in_channels=in_channels,
                                             postfix=plugin.pop('postfix', ''))
            if hasattr(self, name):
                raise ConfigValueError(f'two plugins of a block are both named {name!r}; give them '
                                       "different 'postfix' values in their cfg")
            self.add_module(name, layer)
            names.append(name)
        return names

    def forward_plugin(self, x: Tensor, plugin_names: List[str]) -> Tensor:
        for name in plugin_names:
            x = getattr(self, name)(x)
        return x

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _middle(self, x: Tensor) -> Tensor:
        """The 3x3 stage: (N, width, H, W) -> (N, width, H / conv2_stride, W / conv2_stride)."""
        return self.relu(self.norm2(self.conv2(x)))

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.forward_plugin(self._middle(out), self.after_conv2_plugin_names)
        out = self.norm3(self.conv3(out))
        out = self.forward_plugin(out, self.after_conv3_plugin_names)
        identity = x if self.downsample is None else self.downsample(x)
        out += identity  # in place: no new feature-map allocation (norm outputs are not saved)
        return out


@BACKBONES.register_module()
class ResNet(BaseModule):
    """ResNet, as mmdetection 2.x's.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: input image channels.
        stem_channels: output channels of the 7x7 stem conv (default ``base_channels``).
        base_channels: width of the first stage.
        num_stages: 1 to 4 residual stages.
        strides / dilations: per stage, ``num_stages`` values each.
        out_indices: stages (0-based) whose outputs ``forward`` returns.
        style: 'pytorch' or 'caffe' (where a Bottleneck puts its stride).
        deep_stem: three 3x3 convs (``stem``) instead of the 7x7 ``conv1`` (ResNet-C/D).
        avg_down: AvgPool shortcut downsampling (ResNet-D).
        frozen_stages: freeze the stem and stages 1..frozen_stages (-1: nothing frozen).
        conv_cfg / norm_cfg: layer configs (norm: BN, SyncBN, GN).
        norm_eval: keep BatchNorm layers in eval mode during training (frozen statistics).
        dcn / stage_with_dcn: deformable 3x3 convs (``dict(type='DCN'|'DCNv2', deform_groups=1,
            fallback_on_stride=False)``) in the Bottlenecks of the flagged stages.
        plugins: ``[dict(cfg=dict(type='ContextBlock', ratio=1. / 16), stages=(False, True,
            True, True), position='after_conv3')]``: layers inserted in the Bottlenecks of the
            flagged stages (all stages without ``stages``) at ``position``.
        with_cp: gradient checkpointing in the blocks (memory for compute).
        zero_init_residual: zero the last norm of every block at init.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_torchvision://NAME, prefix=None)``
            or ``None`` (Kaiming init).
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, in_channels: int = 3, stem_channels: Optional[int] = None,
                 base_channels: int = 64, num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3), style: str = 'pytorch',
                 deep_stem: bool = False, avg_down: bool = False, frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, norm_eval: bool = True,
                 dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[List[dict]] = None,
                 with_cp: bool = False, zero_init_residual: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        init_cfg = init_cfg_with_pretrained(type(self).__name__, pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        self._check_stage_args(num_stages, strides, dilations, out_indices, style)
        if dcn is not None and len(stage_with_dcn) != num_stages:
            raise ConfigValueError(
                f'stage_with_dcn {tuple(stage_with_dcn)} needs one flag per stage '
                f'(num_stages={num_stages})')
        self.norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else dict(norm_cfg)
        self.depth = depth
        self.stem_channels = base_channels if stem_channels is None else stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_eval = norm_eval
        self.dcn = dcn
        self.stage_with_dcn = tuple(stage_with_dcn)
        self.plugins = plugins
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.block, stage_blocks = self.block_and_stage_blocks(depth)
        self.stage_blocks = tuple(stage_blocks[:num_stages])
        self.inplanes = self.stem_channels

        self._make_stem_layer(in_channels, self.stem_channels)

        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = self.stage_planes(i)
            res_layer = self.make_res_layer(
                block=self.block, inplanes=self.inplanes, planes=planes, num_blocks=num_blocks,
                stride=self.strides[i], dilation=self.dilations[i], style=style,
                avg_down=avg_down, with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=self.norm_cfg,
                dcn=dcn if self.stage_with_dcn[i] else None,
                plugins=None if plugins is None else self.make_stage_plugins(plugins, i),
                **self.stage_block_kwargs(i))
            self.inplanes = planes * self.block.expansion
            layer_name = f'layer{i + 1}'
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)
        self.feat_dim = self.block.expansion * self.stage_planes(len(self.stage_blocks) - 1)
        self._freeze_stages()

    def block_and_stage_blocks(self, depth: int) -> Tuple[type, Sequence[int]]:
        """The block class and the number of blocks per stage of ``depth``."""
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for {type(self).__name__}; use one of '
                           f'{sorted(self.arch_settings)}')
        return self.arch_settings[depth]

    def stage_planes(self, stage_idx: int) -> int:
        """``planes`` of stage ``stage_idx``: ``base_channels * 2**stage_idx``."""
        return self.base_channels * 2**stage_idx

    def stage_block_kwargs(self, stage_idx: int) -> dict:
        """Block arguments that depend on the stage (none for ResNet; RegNet's groups,
        DetectoRS's ``sac``), given to ``make_res_layer`` with the others."""
        return {}

    @staticmethod
    def _check_stage_args(num_stages: int, strides: Sequence[int], dilations: Sequence[int],
                          out_indices: Sequence[int], style: str) -> None:
        if not 1 <= num_stages <= 4:
            raise ConfigValueError(f'num_stages must be in [1, 4], got {num_stages}')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ConfigValueError(
                f'strides {tuple(strides)} and dilations {tuple(dilations)} need '
                f'one value per stage (num_stages={num_stages})')
        if not out_indices or max(out_indices) >= num_stages:
            raise ConfigValueError(
                f'out_indices {tuple(out_indices)} must be non-empty stage indices '
                f'below num_stages={num_stages}')
        if style not in ('pytorch', 'caffe'):
            raise ConfigValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")

    def make_stage_plugins(self, plugins: List[dict], stage_idx: int) -> List[dict]:
        """The plugins of stage ``stage_idx``: those whose ``stages`` flags (one per stage;
        absent = every stage) include it, without the ``stages`` key."""
        stage_plugins = []
        for plugin in plugins:
            plugin = dict(plugin)
            stages = plugin.pop('stages', None)
            if stages is not None and len(stages) != self.num_stages:
                raise ConfigValueError(
                    f'plugin {plugin} has stages={stages}: give one flag per stage '
                    f'(num_stages={self.num_stages})')
            if stages is None or stages[stage_idx]:
                stage_plugins.append(plugin)
        return stage_plugins

    def make_res_layer(self, **kwargs) -> nn.Module:
        """One stage: ``ResLayer(**kwargs)``; variants add their block arguments here."""
        return ResLayer(**kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        """7x7/2 conv + norm + ReLU (``conv1``/``bn1``), or with ``deep_stem`` three 3x3 convs
        (``stem.0`` ... ``stem.7``); then a 3x3/2 max-pool."""
        if self.deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(
                build_conv_layer(self.conv_cfg, in_channels, half, 3, stride=2, padding=1,
                                 bias=False),
                build_norm_layer(self.norm_cfg, half)[1], nn.ReLU(inplace=True),
                build_conv_layer(self.conv_cfg, half, half, 3, stride=1, padding=1, bias=False),
                build_norm_layer(self.norm_cfg, half)[1], nn.ReLU(inplace=True),
                build_conv_layer(self.conv_cfg, half, stem_channels, 3, stride=1, padding=1,
                                 bias=False),
                build_norm_layer(self.norm_cfg, stem_channels)[1], nn.ReLU(inplace=True))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7, stride=2,
                                          padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _stem(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, stem_channels, H / 4, W / 4)."""
        x = self.stem(x) if self.deep_stem else self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            stem = (self.stem, ) if self.deep_stem else (self.conv1, self.norm1)
            for module in stem:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f'layer{i}')
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Kaiming/constant init (+ zeroed last norms), or load ``init_cfg`` 'Pretrained'."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is not None:
            self.load_pretrained(pretrained['checkpoint'], prefix=pretrained.get('prefix'))
        else:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
            # Layers with an init of their own get it back: DCN offsets and SAC switches start
            # at zero/one, plugins and the RFP feedback at identity.
            for m in self.modules():
                if isinstance(m, ContextBlock):
                    m.reset_parameters()
                elif m is not self and hasattr(m, 'init_weights'):
                    m.init_weights()
            if self.zero_init_residual:
                for m in self.modules():
                    if isinstance(m, Bottleneck):
                        nn.init.zeros_(m.norm3.weight)
                    elif isinstance(m, BasicBlock):
                        nn.init.zeros_(m.norm2.weight)
        self._is_init = True

    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None) -> None:
        """Load ``checkpoint`` (local path or ``torchvision://NAME``), keys as ``self``'s.

        ``prefix`` (e.g. ``'backbone.'``) selects the backbone of a detector checkpoint. Keys the
        checkpoint has but ResNet lacks (torchvision's ``fc.*``) are ignored; a ResNet key the
        checkpoint lacks, or a shape mismatch, raises naming the file and the keys.
        """
        added = tuple(self.added_layer_prefixes())
        load_pretrained(self, checkpoint, prefix=prefix, owner=f'ResNet-{self.depth}',
                        key_hint=' (torchvision names conv1/bn1/layer1.0.conv1...)',
                        may_miss=lambda key: key.startswith(added))

    def added_layer_prefixes(self) -> List[str]:
        """Key prefixes of the layers that ImageNet checkpoints lack (they keep their own
        init when loading one, as mmcv's non-strict loading leaves them): DCN offset convs,
        plugins, SAC's extra convs and AWS statistics, DetectoRS's ``rfp_conv``."""
        prefixes = []
        for name, m in self.named_modules():
            if isinstance(m, (DeformConv2dPack, ModulatedDeformConv2dPack)):
                prefixes.append(f'{name}.conv_offset.')
            elif isinstance(m, Bottleneck):
                for plugin in (m.after_conv1_plugin_names + m.after_conv2_plugin_names +
                               m.after_conv3_plugin_names):
                    prefixes.append(f'{name}.{plugin}.')
                if getattr(m, 'rfp_inplanes', None):
                    prefixes.append(f'{name}.rfp_conv.')
            if isinstance(m, SAConv2d):
                prefixes += [f'{name}.{extra}' for extra in (
                    'switch.', 'weight_diff', 'pre_context.', 'post_context.', 'offset_s.',
                    'offset_l.')]
            if isinstance(m, ConvAWS2d):  # computed from the weights when absent
                prefixes += [f'{name}.weight_gamma', f'{name}.weight_beta']
        return prefixes

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, in_channels, H, W) → one feature map per ``out_indices`` entry."""
        x = self._stem(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'ResNet':
        """Train mode that keeps frozen stages and (with ``norm_eval``) BatchNorms in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batch_norms_to_eval(self)
        return self

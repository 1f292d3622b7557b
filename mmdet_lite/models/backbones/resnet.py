"""ResNet backbone with mmdetection 2.x names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...).

Shapes: ``N`` images, input (N, in_channels, H, W); stage ``i`` (0-based) outputs
(N, base_channels * 2**i * expansion, H / s_i, W / s_i) with s_i = 4 * prod(strides[:i + 1]).
The torchvision ImageNet checkpoints use the same names, so they load without conversion.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained, pretrained_init_cfg
from ..builder import BACKBONES
from ..layers.norm import build_norm_layer
from ..utils.res_layer import ResLayer


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
                 norm_cfg: Optional[dict] = None):
        super().__init__()
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
    """1x1 → 3x3 → 1x1 convs (ResNet-50/101/152).

    ``style='pytorch'`` puts the stride on the 3x3 conv (torchvision, "ResNet v1.5"),
    ``style='caffe'`` on the first 1x1 conv (the original Caffe models).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 1, stride=self.conv1_stride,
                                      bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, stride=self.conv2_stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, planes, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
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
        avg_down: AvgPool shortcut downsampling (ResNet-D).
        frozen_stages: freeze the stem and stages 1..frozen_stages (-1: nothing frozen).
        conv_cfg / norm_cfg: layer configs (norm: BN, SyncBN, GN).
        norm_eval: keep BatchNorm layers in eval mode during training (frozen statistics).
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
                 avg_down: bool = False, frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, norm_eval: bool = True,
                 with_cp: bool = False, zero_init_residual: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNet; use one of '
                           f'{sorted(self.arch_settings)}')
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('give either pretrained or init_cfg to ResNet, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        if not 1 <= num_stages <= 4:
            raise ValueError(f'num_stages must be in [1, 4], got {num_stages}')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f'strides {tuple(strides)} and dilations {tuple(dilations)} need '
                             f'one value per stage (num_stages={num_stages})')
        if not out_indices or max(out_indices) >= num_stages:
            raise ValueError(f'out_indices {tuple(out_indices)} must be non-empty stage indices '
                             f'below num_stages={num_stages}')
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        self.norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else dict(norm_cfg)
        self.depth = depth
        self.stem_channels = base_channels if stem_channels is None else stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.style = style
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]

        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.stem_channels, 7, stride=2,
                                      padding=3, bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, self.stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.res_layers = []
        inplanes = self.stem_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            res_layer = ResLayer(self.block, inplanes, planes, num_blocks, stride=strides[i],
                                 dilation=dilations[i], style=style, avg_down=avg_down,
                                 with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=self.norm_cfg)
            inplanes = planes * self.block.expansion
            layer_name = f'layer{i + 1}'
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)
        self.feat_dim = self.block.expansion * base_channels * 2**(len(self.stage_blocks) - 1)
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.norm1.eval()
            for module in (self.conv1, self.norm1):
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
        load_pretrained(self, checkpoint, prefix=prefix, owner=f'ResNet-{self.depth}',
                        key_hint=' (torchvision names conv1/bn1/layer1.0.conv1...)')

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, in_channels, H, W) → one feature map per ``out_indices`` entry."""
        x = self.maxpool(self.relu(self.norm1(self.conv1(x))))
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
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

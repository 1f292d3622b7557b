"""The ResNet of DetectoRS (Qiao et al., 2021): Switchable Atrous Convolution (``sac``) in the
Bottlenecks of chosen stages, and the Recursive Feature Pyramid's feedback (``rfp_inplanes``):
``rfp_forward(img, rfp_feats)`` adds ``rfp_conv(rfp_feat)`` (1x1, zero-initialised) to the
output of the first Bottleneck of stages 2-4. ``output_img=True`` puts the input image first in
the outputs (what the ``RFP`` neck expects).
"""
from typing import List, Optional, Sequence, Tuple

import torch.utils.checkpoint as cp
from torch import Tensor, nn

from ..builder import BACKBONES
from ..layers.conv import build_conv_layer
from ..utils.res_layer import make_downsample
from .resnet import Bottleneck as _Bottleneck
from .resnet import ResNet
from ...core.utils.errors import ConfigValueError


class Bottleneck(_Bottleneck):
    """ResNet's Bottleneck with an optional SAC 3x3 conv and RFP input.

    Args:
        rfp_inplanes: channels of the RFP feature added after the block (adds ``rfp_conv``).
        sac: conv config of the 3x3 conv, e.g. ``dict(type='SAC', use_deform=True)``; takes
            precedence over ``dcn``.
        Others: as ResNet's Bottleneck (``mid_channels``/``conv2_groups`` for ResNeXt).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, rfp_inplanes: Optional[int] = None,
                 sac: Optional[dict] = None, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, dcn: Optional[dict] = None,
                 plugins: Optional[List[dict]] = None, mid_channels: Optional[int] = None,
                 conv2_groups: int = 1):
        if sac is not None and not isinstance(sac, dict):
            raise TypeError(f"sac must be None or a conv config such as dict(type='SAC', "
                            f'use_deform=True), got {sac!r}')
        # conv2_cfg() (called by Bottleneck.__init__) reads these
        self.sac = sac
        self.with_sac = sac is not None
        super().__init__(inplanes, planes, stride=stride, dilation=dilation,
                         downsample=downsample, style=style, with_cp=with_cp, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, dcn=dcn, plugins=plugins, mid_channels=mid_channels,
                         conv2_groups=conv2_groups)
        self.rfp_inplanes = rfp_inplanes
        if rfp_inplanes:
            self.rfp_conv = build_conv_layer(None, rfp_inplanes, planes * self.expansion, 1,
                                             stride=1, bias=True)
            self.init_weights()

    def conv2_cfg(self) -> Optional[dict]:
        return self.sac if self.with_sac else super().conv2_cfg()

    def init_weights(self) -> None:
        """The RFP feedback starts at zero."""
        if self.rfp_inplanes:
            nn.init.zeros_(self.rfp_conv.weight)
            nn.init.zeros_(self.rfp_conv.bias)

    def rfp_forward(self, x: Tensor, rfp_feat: Optional[Tensor]) -> Tensor:
        """``forward`` plus ``rfp_conv(rfp_feat)`` before the last ReLU (when ``rfp_inplanes``).
        ``rfp_feat``: (N, rfp_inplanes, H_out, W_out)."""
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        if self.rfp_inplanes:
            out = out + self.rfp_conv(rfp_feat)
        return self.relu(out)


class ResLayer(nn.Sequential):
    """A DetectoRS stage: as ``ResLayer`` (first block downsamples; AvgPool shortcut only when
    striding), with ``rfp_inplanes`` given to the first block only."""

    def __init__(self, block: type, inplanes: int, planes: int, num_blocks: int,
                 stride: int = 1, avg_down: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, downsample_first: bool = True,
                 rfp_inplanes: Optional[int] = None, **block_kwargs):
        if not downsample_first:
            raise ValueError('downsample_first=False is not supported by DetectoRS stages')
        norm_cfg = dict(type='BN') if norm_cfg is None else norm_cfg
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = make_downsample(inplanes, out_channels, stride,
                                         avg_down and stride != 1, conv_cfg, norm_cfg)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, **block_kwargs)
        blocks = [block(inplanes=inplanes, planes=planes, stride=stride, downsample=downsample,
                        rfp_inplanes=rfp_inplanes, **common)]
        blocks += [block(inplanes=out_channels, planes=planes, stride=1, **common)
                   for _ in range(1, num_blocks)]
        super().__init__(*blocks)


@BACKBONES.register_module()
class DetectoRS_ResNet(ResNet):
    """ResNet with SAC and RFP inputs.

    Args:
        sac: SAC conv config for the 3x3 convs of the stages flagged in ``stage_with_sac``.
        stage_with_sac: one flag per stage.
        rfp_inplanes: channels of the RFP features (stages 2-4 get ``rfp_conv``).
        output_img: also return the input image, first.
        **kwargs: ResNet's other arguments.
    """

    arch_settings = {
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, sac: Optional[dict] = None,
                 stage_with_sac: Sequence[bool] = (False, False, False, False),
                 rfp_inplanes: Optional[int] = None, output_img: bool = False, **kwargs):
        # stage_block_kwargs (called by ResNet.__init__) reads these
        self.sac = sac
        self.stage_with_sac = tuple(stage_with_sac)
        self.rfp_inplanes = rfp_inplanes
        self.output_img = output_img
        super().__init__(**kwargs)
        if len(self.stage_with_sac) < self.num_stages:
            raise ConfigValueError(f'stage_with_sac {self.stage_with_sac} needs one flag per stage '
                                   f'(num_stages={self.num_stages})')

    def stage_block_kwargs(self, stage_idx: int) -> dict:
        return dict(sac=self.sac if self.stage_with_sac[stage_idx] else None,
                    rfp_inplanes=self.rfp_inplanes if stage_idx > 0 else None)

    def make_res_layer(self, **kwargs) -> nn.Module:
        return ResLayer(**kwargs)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """ResNet's outputs, preceded by ``x`` when ``output_img``."""
        outs = super().forward(x)
        return (x, ) + outs if self.output_img else outs

    def rfp_forward(self, x: Tensor, rfp_feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Forward with the RFP features of stages 2-4 (``rfp_feats[i]`` for stage ``i``;
        ``rfp_feats[0]`` is unused) added in their first blocks."""
        x = self._stem(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            rfp_feat = rfp_feats[i] if i > 0 else None
            for block in getattr(self, layer_name):
                x = block.rfp_forward(x, rfp_feat)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

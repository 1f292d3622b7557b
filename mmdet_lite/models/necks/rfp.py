"""Recursive Feature Pyramid (DetectoRS, Qiao et al., 2021), as mmdetection 2.x's.

The FPN outputs are fed back (through ASPP) into further backbone passes (``rfp_backbone``,
a ``DetectoRS_ResNet`` with ``rfp_forward``), whose FPN outputs are blended with the previous
ones by a learned per-pixel weight.

Shapes: input ``[img, C2, C3, ...]`` (the backbone's ``output_img=True``): img (N, 3, H, W) and
the FPN inputs → ``num_outs`` maps (N, out_channels, H_l, W_l).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model.weight_init import xavier_init
from torch import Tensor, nn

from ..builder import NECKS, build_backbone
from .fpn import FPN


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: a conv per dilation (3x3, or 1x1 for dilation 1; the
    last one on the globally pooled map, broadcast back), ReLU, concatenated.

    (N, in_channels, H, W) → (N, out_channels * len(dilations), H, W).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 dilations: Sequence[int] = (1, 3, 6, 1)):
        super().__init__()
        if dilations[-1] != 1:
            raise ValueError(f'ASPP: the last (image-pooling) branch needs dilation 1, got '
                             f'{tuple(dilations)}')
        self.aspp = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, kernel_size=3 if d > 1 else 1, stride=1,
                      dilation=d, padding=d if d > 1 else 0, bias=True) for d in dilations)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def init_weights(self) -> None:
        for conv in self.aspp:
            nn.init.kaiming_normal_(conv.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.gap(x)
        outs = [F.relu(conv(pooled if i == len(self.aspp) - 1 else x))
                for i, conv in enumerate(self.aspp)]
        outs[-1] = outs[-1].expand_as(outs[-2])
        return torch.cat(outs, dim=1)


@NECKS.register_module()
class RFP(FPN):
    """RFP.

    Args:
        rfp_steps: backbone passes in total (``rfp_steps - 1`` feedback backbones are built).
        rfp_backbone: config of the feedback backbones.
        aspp_out_channels: channels of each ASPP branch (times 4 = the backbone's
            ``rfp_inplanes``).
        aspp_dilations: ASPP dilations.
        init_cfg: must be None (Xavier FPN convs, backbone inits, zero blend weights; as 2.x).
        **kwargs: the :class:`FPN` arguments.
    """

    def __init__(self, rfp_steps: int, rfp_backbone: dict, aspp_out_channels: int,
                 aspp_dilations: Sequence[int] = (1, 3, 6, 1), init_cfg: Optional[dict] = None,
                 **kwargs):
        if init_cfg is not None:
            raise ValueError('RFP initialises its own layers; init_cfg must be None')
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.rfp_steps = rfp_steps
        self.rfp_modules = nn.ModuleList(build_backbone(dict(rfp_backbone))
                                         for _ in range(1, rfp_steps))
        self.rfp_aspp = ASPP(self.out_channels, aspp_out_channels, aspp_dilations)
        self.rfp_weight = nn.Conv2d(self.out_channels, 1, kernel_size=1, stride=1, padding=0,
                                    bias=True)

    def init_weights(self) -> None:
        for convs in (self.lateral_convs, self.fpn_convs):
            for m in convs.modules():
                if isinstance(m, nn.Conv2d):
                    xavier_init(m, distribution='uniform')
        for module in self.rfp_modules:
            module.init_weights()
        nn.init.zeros_(self.rfp_weight.weight)
        nn.init.zeros_(self.rfp_weight.bias)
        self._is_init = True

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        inputs = list(inputs)
        if len(inputs) != len(self.in_channels) + 1:
            raise ValueError(f'RFP needs the image and {len(self.in_channels)} feature maps '
                             f"(backbone output_img=True), got {len(inputs)} tensors")
        img = inputs.pop(0)
        x = list(super().forward(tuple(inputs)))
        for backbone in self.rfp_modules:
            rfp_feats = [x[0]] + [self.rfp_aspp(x[i]) for i in range(1, len(x))]
            x_new = super().forward(backbone.rfp_forward(img, rfp_feats))
            blended = []
            for new, old in zip(x_new, x):
                weight = torch.sigmoid(self.rfp_weight(new))
                blended.append(weight * new + (1 - weight) * old)
            x = blended
        return x

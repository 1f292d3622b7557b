"""FeatureRelayHead: SCNet's relay of the box head's shared features to the mask branch: a
fully connected layer to a ``roi_feat_size``-sided map, upsampled to the mask RoI size.

Shapes: ``P`` RoIs, ``D`` = ``in_channels``, ``E`` = ``out_conv_channels``, ``s`` =
``roi_feat_size``.
"""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from ...builder import HEADS


@HEADS.register_module()
class FeatureRelayHead(BaseModule):
    """Feature relay head.

    Args:
        in_channels: ``D``, the width of the box head's shared features.
        out_conv_channels: ``E``, the channels of the relayed map.
        roi_feat_size: ``s``, the side of the map before upsampling.
        scale_factor: bilinear upsampling factor (to the mask RoI features' size).
    """

    def __init__(self, in_channels: int = 1024, out_conv_channels: int = 256,
                 roi_feat_size: int = 7, scale_factor: int = 2,
                 init_cfg: Optional[dict] = dict(type='Kaiming', layer='Linear')):
        super().__init__(init_cfg)
        if not isinstance(roi_feat_size, int):
            raise ValueError(f'FeatureRelayHead roi_feat_size must be an int, got '
                             f'{roi_feat_size!r}')
        self.in_channels = in_channels
        self.out_conv_channels = out_conv_channels
        self.roi_feat_size = roi_feat_size
        self.out_channels = (roi_feat_size**2) * out_conv_channels
        self.scale_factor = scale_factor
        self.fp16_enabled = False
        self.fc = nn.Linear(in_channels, self.out_channels)
        self.upsample = nn.Upsample(scale_factor=scale_factor, mode='bilinear',
                                    align_corners=True)

    def forward(self, x: Tensor) -> Optional[Tensor]:
        """(P, D) → (P, E, s * scale_factor, s * scale_factor); None for no RoI (2.x)."""
        num = x.shape[0]
        if num == 0:
            return None
        x = self.fc(x).reshape(num, self.out_conv_channels, self.roi_feat_size,
                               self.roi_feat_size)
        return self.upsample(x)

"""CoarseMaskHead: PointRend's coarse mask predictor (mmdetection 2.x): the RoI features are
downsampled, not upsampled, and fully connected layers predict a small (7x7) mask per class.

Shapes: ``P`` RoIs, ``C`` classes, ``(h, w)`` the RoI feature size, ``(h', w')`` =
``(h, w) / downsample_factor`` the output size.
"""
from typing import List, Optional, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from ...builder import HEADS
from ...utils.conv_module import ConvModule
from .fcn_mask_head import FCNMaskHead


@HEADS.register_module()
class CoarseMaskHead(FCNMaskHead):
    """``convs`` (``num_convs``), ``downsample_conv`` (stride ``downsample_factor``), ``fcs``
    (``num_fcs`` Linear + ReLU), ``fc_logits`` (C x h' x w'); no ``conv_logits``.

    Args:
        num_convs / num_fcs / fc_out_channels / downsample_factor: the layers above.
        init_cfg: 2.x's default: Xavier on ``fcs``, constant 0.001 on ``fc_logits``.
        Others: as :class:`FCNMaskHead` (``upsample_cfg`` is fixed to none).
    """

    def __init__(self, num_convs: int = 0, num_fcs: int = 2, fc_out_channels: int = 1024,
                 downsample_factor: int = 2,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, *args, **kwargs):
        if init_cfg is None:
            init_cfg = dict(type='Xavier', override=[
                dict(name='fcs'), dict(type='Constant', val=0.001, name='fc_logits')])
        super().__init__(*args, num_convs=num_convs, upsample_cfg=dict(type=None),
                         init_cfg=None, **kwargs)
        self.init_cfg = init_cfg
        if num_fcs <= 0:
            raise ValueError(f'CoarseMaskHead needs num_fcs >= 1, got {num_fcs}')
        if downsample_factor < 1:
            raise ValueError(f'CoarseMaskHead needs downsample_factor >= 1, got '
                             f'{downsample_factor}')
        self.num_fcs = num_fcs
        self.fc_out_channels = fc_out_channels
        self.downsample_factor = downsample_factor
        del self.conv_logits
        if downsample_factor > 1:
            downsample_in_channels = (self.conv_out_channels if self.num_convs > 0
                                      else self.in_channels)
            self.downsample_conv = ConvModule(downsample_in_channels, self.conv_out_channels,
                                              kernel_size=downsample_factor,
                                              stride=downsample_factor, padding=0,
                                              conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
        else:
            self.downsample_conv = None
        self.output_size = (self.roi_feat_size[0] // downsample_factor,
                            self.roi_feat_size[1] // downsample_factor)
        self.output_area = self.output_size[0] * self.output_size[1]
        last_layer_dim = self.conv_out_channels * self.output_area
        self.fcs = nn.ModuleList()
        for i in range(num_fcs):
            self.fcs.append(nn.Linear(last_layer_dim if i == 0 else fc_out_channels,
                                      fc_out_channels))
        self.fc_logits = nn.Linear(fc_out_channels, self.num_classes * self.output_area)

    def init_weights(self) -> None:
        """Only ``init_cfg`` (not FCNMaskHead's Kaiming init of its logits conv)."""
        BaseModule.init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        """x (P, in_channels, h, w) -> coarse mask logits (P, C, h', w')."""
        for conv in self.convs:
            x = conv(x)
        if self.downsample_conv is not None:
            x = self.downsample_conv(x)
        x = x.flatten(1)
        for fc in self.fcs:
            x = self.relu(fc(x))
        return self.fc_logits(x).view(x.size(0), self.num_classes, *self.output_size)

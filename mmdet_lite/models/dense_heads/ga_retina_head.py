"""GARetinaHead: RetinaNet's conv towers with guided anchors (GA-RetinaNet, mmdetection 2.x).

Shape shorthand: ``N`` images, ``C`` classes, ``H x W`` one level's size, ``F`` feat_channels.
"""
from typing import List, Optional, Tuple, Union

from torch import Tensor, nn

from ..builder import HEADS
from ..layers.masked_conv import MaskedConv2d
from ..utils.conv_module import ConvModule
from .feature_adaption import FeatureAdaption
from .guided_anchor_head import GuidedAnchorHead


@HEADS.register_module()
class GARetinaHead(GuidedAnchorHead):
    """``stacked_convs`` ConvModules per tower (``cls_convs``, ``reg_convs``); ``conv_loc`` on
    the classification tower, ``conv_shape`` on the regression tower, one ``FeatureAdaption``
    per tower, masked 3x3 predictors ``retina_cls`` (C) and ``retina_reg`` (4).

    ``init_cfg`` (2.x default): Normal(std=0.01) on every conv; ``conv_loc`` and ``retina_cls``
    biased to a 0.01 initial probability.
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01, override=[
                dict(type='Normal', name='conv_loc', std=0.01, bias_prob=0.01),
                dict(type='Normal', name='retina_cls', std=0.01, bias_prob=0.01)])
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        super().__init__(num_classes, in_channels, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        self.conv_loc = nn.Conv2d(self.feat_channels, 1, 1)
        self.conv_shape = nn.Conv2d(self.feat_channels, self.num_base_priors * 2, 1)
        self.feature_adaption_cls = FeatureAdaption(self.feat_channels, self.feat_channels,
                                                    kernel_size=3,
                                                    deform_groups=self.deform_groups)
        self.feature_adaption_reg = FeatureAdaption(self.feat_channels, self.feat_channels,
                                                    kernel_size=3,
                                                    deform_groups=self.deform_groups)
        self.retina_cls = MaskedConv2d(self.feat_channels,
                                       self.num_base_priors * self.cls_out_channels, 3,
                                       padding=1)
        self.retina_reg = MaskedConv2d(self.feat_channels, self.num_base_priors * 4, 3,
                                       padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) -> cls_score (N, C, H, W), bbox_pred (N, 4, H, W),
        shape_pred (N, 2, H, W), loc_pred (N, 1, H, W)."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        loc_pred = self.conv_loc(cls_feat)
        shape_pred = self.conv_shape(reg_feat)
        cls_feat = self.feature_adaption_cls(cls_feat, shape_pred)
        reg_feat = self.feature_adaption_reg(reg_feat, shape_pred)
        mask = self.loc_filter_mask(loc_pred)
        return (self.retina_cls(cls_feat, mask), self.retina_reg(reg_feat, mask), shape_pred,
                loc_pred)

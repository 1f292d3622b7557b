"""RetinaHead: RetinaNet's two 4-conv towers for classes and box deltas (Lin et al., 2017).

Shape shorthand:
    N: images in the batch         L: FPN levels
    A: anchors per location (9 = 3 octave scales x 3 ratios by default)
    C: classes (sigmoid classifier, no background column)
    H_l, W_l: size of level l      F: ``feat_channels``
"""
from typing import List, Optional, Tuple, Union

from torch import Tensor, nn

from ..builder import HEADS
from ..utils.conv_module import ConvModule
from .anchor_head import AnchorHead


@HEADS.register_module()
class RetinaHead(AnchorHead):
    """``stacked_convs`` 3x3 ConvModules per branch (``cls_convs``, ``reg_convs``), then 3x3
    predictors ``retina_cls`` (A * C) and ``retina_reg`` (A * 4).

    ``init_cfg`` (2.x default): Normal(std=0.01) on every conv, and ``retina_cls``'s bias set so
    that the initial foreground probability is 0.01 (focal-loss prior).
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 feat_channels: int = 256, anchor_generator: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None, reg_decoded_bbox: bool = False,
                 loss_cls: Optional[dict] = None, loss_bbox: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        if anchor_generator is None:
            anchor_generator = dict(type='AnchorGenerator', octave_base_scale=4,
                                    scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                    strides=[8, 16, 32, 64, 128])
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='retina_cls', std=0.01,
                                          bias_prob=0.01))
        super().__init__(num_classes, in_channels, feat_channels=feat_channels,
                         anchor_generator=anchor_generator, bbox_coder=bbox_coder,
                         reg_decoded_bbox=reg_decoded_bbox, loss_cls=loss_cls,
                         loss_bbox=loss_bbox, train_cfg=train_cfg, test_cfg=test_cfg,
                         init_cfg=init_cfg)

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        self.retina_cls = nn.Conv2d(self.feat_channels,
                                    self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 3, padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → (N, A * C, H, W) scores, (N, A * 4, H, W) deltas."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)

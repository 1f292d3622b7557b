"""RetinaSepBNHead: RetinaNet's towers with convs shared across FPN levels but one set of norm
layers per level (NAS-FPN, Ghiasi et al., 2019).

Shape shorthand:
    N: images in the batch         L: FPN levels (``num_ins``)
    A: anchors per location        C: classes (sigmoid classifier, no background column)
    H_l, W_l: size of level l      F: ``feat_channels``
"""
from typing import List, Optional, Sequence, Tuple, Union

from torch import Tensor, nn

from ..builder import HEADS
from ..utils.conv_module import ConvModule
from .anchor_head import AnchorHead


@HEADS.register_module()
class RetinaSepBNHead(AnchorHead):
    """``cls_convs[l]`` and ``reg_convs[l]`` (l < ``num_ins``) are ``stacked_convs`` 3x3
    ConvModules each; the ``.conv`` of every level's i-th module is level 0's (one parameter
    set), while each level keeps its own norm layer. Then the shared 3x3 predictors
    ``retina_cls`` (A * C) and ``retina_reg`` (A * 4).

    The state dict lists the shared conv once per level (``cls_convs.<l>.<i>.conv.weight``), as
    2.x's did, so 2.x checkpoints load with ``strict=True``.

    Init (fixed, as in 2.x, which forbids ``init_cfg``): Normal(std=0.01) on every conv, and
    ``retina_cls``'s bias set so that the initial foreground probability is 0.01.
    """

    def __init__(self, num_classes: int, num_ins: int, in_channels: int,
                 stacked_convs: int = 4, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if init_cfg is not None:
            raise ValueError(f'RetinaSepBNHead: init_cfg={init_cfg!r} is not allowed (its init '
                             'is fixed, as in mmdetection 2.x); remove init_cfg from bbox_head')
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.num_ins = num_ins
        init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                        override=dict(type='Normal', name='retina_cls', std=0.01,
                                      bias_prob=0.01))
        super().__init__(num_classes, in_channels, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for _ in range(self.num_ins):
            for towers in (self.cls_convs, self.reg_convs):
                tower = nn.ModuleList()
                for i in range(self.stacked_convs):
                    chn = self.in_channels if i == 0 else self.feat_channels
                    tower.append(ConvModule(chn, self.feat_channels, 3, stride=1, padding=1,
                                            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
                towers.append(tower)
        # share the convs after building them all, so that every level is built alike
        for level in range(1, self.num_ins):
            for i in range(self.stacked_convs):
                self.cls_convs[level][i].conv = self.cls_convs[0][i].conv
                self.reg_convs[level][i].conv = self.reg_convs[0][i].conv
        self.retina_cls = nn.Conv2d(self.feat_channels,
                                    self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 3, padding=1)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """L maps (N, C_in, H_l, W_l) → (cls_scores, bbox_preds), lists over levels of
        (N, A * C, H_l, W_l) and (N, A * 4, H_l, W_l)."""
        if len(feats) > self.num_ins:
            raise ValueError(f'RetinaSepBNHead: got {len(feats)} feature levels but num_ins='
                             f'{self.num_ins}; set bbox_head.num_ins to the neck\'s num_outs')
        cls_scores, bbox_preds = [], []
        for level, x in enumerate(feats):
            cls_feat = x
            reg_feat = x
            for cls_conv in self.cls_convs[level]:
                cls_feat = cls_conv(cls_feat)
            for reg_conv in self.reg_convs[level]:
                reg_feat = reg_conv(reg_feat)
            cls_scores.append(self.retina_cls(cls_feat))
            bbox_preds.append(self.retina_reg(reg_feat))
        return cls_scores, bbox_preds

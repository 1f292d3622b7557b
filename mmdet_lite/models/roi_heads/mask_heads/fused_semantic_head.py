"""FusedSemanticHead: Hybrid Task Cascade's semantic segmentation branch.

Every FPN level goes through a 1x1 lateral conv and is resized (bilinear, corners aligned) to
the level ``fusion_level``; their sum passes ``num_convs`` 3x3 convs, then a 1x1 conv gives the
per-pixel class logits and another 1x1 conv the semantic features that HTC's RoI heads pool.

Shapes: ``N`` images, ``L`` levels, ``D`` = ``conv_out_channels``, ``(H_f, W_f)`` the size of
level ``fusion_level``, ``S`` semantic classes.
"""
import copy
import warnings
from typing import List, Optional, Sequence, Tuple

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...builder import HEADS, build_loss


@HEADS.register_module()
class FusedSemanticHead(BaseModule):
    """Multi-level fused semantic segmentation head.

    Args:
        num_ins: number of input levels ``L`` (one lateral conv each).
        fusion_level: the level whose size the others are resized to.
        num_convs: 3x3 convs after the fusion.
        in_channels / conv_out_channels: channels of the levels and of the convs (D).
        num_classes: semantic classes ``S`` (183 for COCO-stuff).
        conv_cfg / norm_cfg: for the ``ConvModule`` layers.
        ignore_label / loss_weight: deprecated (2.x), put ``ignore_index`` / ``loss_weight`` in
            ``loss_seg``.
        loss_seg: the per-pixel loss (``CrossEntropyLoss`` with ``ignore_index=255``).
    """

    def __init__(self,
                 num_ins: int,
                 fusion_level: int,
                 num_convs: int = 4,
                 in_channels: int = 256,
                 conv_out_channels: int = 256,
                 num_classes: int = 183,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 ignore_label: Optional[int] = None,
                 loss_weight: Optional[float] = None,
                 loss_seg: dict = dict(type='CrossEntropyLoss', ignore_index=255,
                                       loss_weight=0.2),
                 init_cfg: Optional[dict] = dict(type='Kaiming',
                                                 override=dict(name='conv_logits'))):
        super().__init__(init_cfg)
        if not 0 <= fusion_level < num_ins:
            raise ValueError(f'FusedSemanticHead fusion_level={fusion_level} must index one of '
                             f'the num_ins={num_ins} input levels')
        self.num_ins = num_ins
        self.fusion_level = fusion_level
        self.num_convs = num_convs
        self.in_channels = in_channels
        self.conv_out_channels = conv_out_channels
        self.num_classes = num_classes
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.fp16_enabled = False

        self.lateral_convs = nn.ModuleList([
            ConvModule(in_channels, in_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                       inplace=False) for _ in range(num_ins)])
        self.convs = nn.ModuleList([
            ConvModule(in_channels if i == 0 else conv_out_channels, conv_out_channels, 3,
                       padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            for i in range(num_convs)])
        self.conv_embedding = ConvModule(conv_out_channels, conv_out_channels, 1,
                                         conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv_logits = nn.Conv2d(conv_out_channels, num_classes, 1)

        loss_seg = copy.deepcopy(dict(loss_seg))
        if ignore_label is not None or loss_weight is not None:
            warnings.warn('FusedSemanticHead: ignore_label and loss_weight are deprecated; set '
                          'ignore_index and loss_weight in loss_seg instead', DeprecationWarning)
        if ignore_label is not None:
            loss_seg['ignore_index'] = ignore_label
        if loss_weight is not None:
            loss_seg['loss_weight'] = loss_weight
        self.criterion = build_loss(loss_seg)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """``feats`` (at most ``num_ins`` levels (N, in_channels, H_l, W_l)) → semantic logits
        (N, S, H_f, W_f) and semantic features (N, D, H_f, W_f)."""
        if len(feats) > self.num_ins:
            raise ValueError(f'FusedSemanticHead got {len(feats)} levels but has num_ins='
                             f'{self.num_ins} lateral convs')
        x = self.lateral_convs[self.fusion_level](feats[self.fusion_level])
        fused_size = tuple(x.shape[-2:])
        for i, feat in enumerate(feats):
            if i != self.fusion_level:
                feat = F.interpolate(feat, size=fused_size, mode='bilinear', align_corners=True)
                x = x + self.lateral_convs[i](feat)
        for conv in self.convs:
            x = conv(x)
        return self.conv_logits(x), self.conv_embedding(x)

    def loss(self, mask_pred: Tensor, labels: Tensor) -> Tensor:
        """Per-pixel loss of the logits (N, S, H_f, W_f) against ``labels`` (N, 1, H_f, W_f)
        (``gt_semantic_seg`` rescaled to level ``fusion_level``, 255 = ignore)."""
        return self.criterion(mask_pred, labels.squeeze(1).long())

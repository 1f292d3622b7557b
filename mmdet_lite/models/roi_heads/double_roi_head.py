"""DoubleHeadRoIHead: Double-Head R-CNN's second stage (Wu et al., arXiv:1904.06493): the
classification features are pooled from the RoIs, the regression features from the RoIs
enlarged by ``reg_roi_scale_factor``; a :class:`DoubleConvFCBBoxHead` takes both."""
from typing import Dict, List

import torch

from ..builder import HEADS
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor


@HEADS.register_module()
class DoubleHeadRoIHead(StandardRoIHead):
    """StandardRoIHead with separate classification / regression RoI features.

    Args:
        reg_roi_scale_factor: scale of the RoIs' width and height (about their centres) for
            the regression features (1.3 in 2.x's configs).
        **kwargs: :class:`StandardRoIHead`'s arguments.
    """

    def __init__(self, reg_roi_scale_factor: float, **kwargs):
        super().__init__(**kwargs)
        self.reg_roi_scale_factor = reg_roi_scale_factor

    def _bbox_forward(self, x: List[Tensor], rois: Tensor) -> Dict[str, Tensor]:
        """``rois`` (K, 5) → ``cls_score``, ``bbox_pred`` and ``bbox_feats`` (the
        classification features)."""
        inputs = x[:self.bbox_roi_extractor.num_inputs]
        cls_feats = self.bbox_roi_extractor(inputs, rois)
        reg_feats = self.bbox_roi_extractor(inputs, rois,
                                            roi_scale_factor=self.reg_roi_scale_factor)
        if self.with_shared_head:
            cls_feats = self.shared_head(cls_feats)
            reg_feats = self.shared_head(reg_feats)
        cls_score, bbox_pred = self.bbox_head(cls_feats, reg_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=cls_feats)

"""TwoStageDetector: backbone → neck → RPN head (proposals) → RoI head.

Shapes: ``N`` images, ``(H, W)`` the padded batch size, ``K_i`` proposals of image i.
"""
from typing import Dict, List, Optional

import torch

from ..builder import DETECTORS
from .base import BaseDetector

Tensor = torch.Tensor


@DETECTORS.register_module()
class TwoStageDetector(BaseDetector):
    """Base class of two-stage detectors (Faster R-CNN, Mask R-CNN).

    Args:
        backbone / neck: feature extractor configs.
        rpn_head: the proposal head; without it ``proposals`` must be given to the forward
            functions.
        roi_head: the second stage (e.g. ``StandardRoIHead``).
        train_cfg: ``dict(rpn=..., rpn_proposal=..., rcnn=...)``: RPN targets, the NMS that
            turns RPN outputs into training proposals, and the RoI head's targets.
        test_cfg: ``dict(rpn=..., rcnn=...)``.
        pretrained: deprecated; use ``backbone.init_cfg=dict(type='Pretrained', ...)``.

    Backbone, neck, config storage and ``extract_feat`` are :class:`BaseDetector`'s.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 rpn_head: Optional[dict] = None,
                 roi_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg, backbone=backbone, neck=neck, train_cfg=train_cfg,
                         test_cfg=test_cfg, pretrained=pretrained)
        if rpn_head is not None:
            self.rpn_head = self.build_head_with_cfgs(rpn_head, 'rpn')
        if roi_head is not None:
            if pretrained:
                roi_head = dict(roi_head, pretrained=pretrained)
            self.roi_head = self.build_head_with_cfgs(roi_head, 'rcnn')

    @property
    def with_rpn(self) -> bool:
        return getattr(self, 'rpn_head', None) is not None

    @property
    def with_roi_head(self) -> bool:
        return getattr(self, 'roi_head', None) is not None

    def forward_dummy(self, img: Tensor) -> tuple:
        """Raw outputs on ``img`` with 1000 fixed proposals (FLOPs counting)."""
        x = self.extract_feat(img)
        outs: tuple = ()
        if self.with_rpn:
            outs = outs + (self.rpn_head(x), )
        proposals = torch.randn(1000, 4, device=img.device)
        return outs + (self.roi_head.forward_dummy(x, proposals), )

    def forward_train(self, img: Tensor, img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: List[Tensor], gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None,
                      proposals: Optional[List[Tensor]] = None,
                      **kwargs) -> Dict[str, Tensor]:
        """Losses: the RPN's (``loss_rpn_cls``, ``loss_rpn_bbox``) and the RoI head's.

        Args:
            img: (N, C, H, W) normalised, padded images.
            img_metas: per image, the meta dict of docs/conventions.md §3.1.
            gt_bboxes / gt_labels: per image, (G_i, 4) xyxy and (G_i,) in [0, C).
            gt_bboxes_ignore: per image, (I_i, 4) boxes to ignore, or None.
            gt_masks: per image, ``BitmapMasks``/``PolygonMasks`` (Mask R-CNN).
            proposals: per image, (K_i, 4 or 5) pre-computed proposals when there is no RPN.
            **kwargs: further annotations (HTC's ``gt_semantic_seg``), passed to both heads
                as in 2.x.
        """
        super().forward_train(img, img_metas)
        if self.train_cfg is None:
            raise RuntimeError(f'{type(self).__name__} has no train_cfg; add model.train_cfg='
                               'dict(rpn=..., rpn_proposal=..., rcnn=...) to the config')
        x = self.extract_feat(img)
        losses: Dict[str, Tensor] = dict()
        if self.with_rpn:
            proposal_cfg = self.train_cfg.get('rpn_proposal',
                                              self.test_cfg.get('rpn') if self.test_cfg else None)
            rpn_losses, proposal_list = self.rpn_head.forward_train(
                x, img_metas, gt_bboxes, gt_labels=None, gt_bboxes_ignore=gt_bboxes_ignore,
                proposal_cfg=proposal_cfg, **kwargs)
            losses.update(rpn_losses)
        else:
            if proposals is None:
                raise ValueError(f'{type(self).__name__} has no rpn_head, so forward_train '
                                 'needs proposals (per image (K, 4 or 5)); load them with the '
                                 'LoadProposals pipeline step')
            proposal_list = proposals
        roi_losses = self.roi_head.forward_train(x, img_metas, proposal_list, gt_bboxes,
                                                 gt_labels, gt_bboxes_ignore, gt_masks,
                                                 **kwargs)
        losses.update(roi_losses)
        return losses

    def simple_test(self, img: Tensor, img_metas: List[dict],
                    proposals: Optional[List[Tensor]] = None, rescale: bool = False) -> list:
        """Per-image results (docs/conventions.md §3) of one batch ``img`` (N, C, H, W)."""
        if not self.with_bbox:
            raise RuntimeError(f'{type(self).__name__} has no bbox branch to test')
        x = self.extract_feat(img)
        if proposals is None:
            if not self.with_rpn:
                raise ValueError(f'{type(self).__name__} has no rpn_head, so simple_test needs '
                                 'proposals (per image (K, 4 or 5))')
            proposal_list = self.rpn_head.simple_test_rpn(x, img_metas)
        else:
            proposal_list = proposals
        # torchvision's roi_align copies NHWC (channels_last) maps to NCHW on every call:
        # convert each level once here instead (a no-op for NCHW maps).
        x = tuple(level.contiguous() for level in x)
        return self.roi_head.simple_test(x, proposal_list, img_metas, rescale=rescale)

    def aug_test(self, imgs: List[Tensor], img_metas: List[List[dict]],
                 rescale: bool = False) -> list:
        """Results of one image under the augmentations in ``imgs`` (each (1, C, H, W))."""
        if not self.with_rpn:
            raise ValueError(f'{type(self).__name__}.aug_test needs an rpn_head')
        x = self.extract_feats(imgs)
        proposal_list = self.rpn_head.aug_test_rpn(x, img_metas)
        return self.roi_head.aug_test(x, proposal_list, img_metas, rescale=rescale)

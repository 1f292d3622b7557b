"""RPN: a proposal-only detector (backbone → neck → ``RPNHead``), for ``--eval proposal``.

Shapes: ``N`` images, (N, 3, H, W) padded batch, ``n`` proposals per image.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from torch import Tensor

from ...core import bbox_mapping
from ...core.bbox.scale_factor import scale_factor_tensor
from ..builder import DETECTORS
from .base import BaseDetector


@DETECTORS.register_module()
class RPN(BaseDetector):
    """Region Proposal Network as a detector; results are per image (n, 5) proposals.

    Args:
        backbone / neck / rpn_head: module configs.
        train_cfg: ``dict(rpn=dict(assigner=..., sampler=..., ...))``.
        test_cfg: ``dict(rpn=dict(nms_pre=..., max_per_img=..., nms=..., min_bbox_size=...))``.
        pretrained: deprecated; use ``backbone.init_cfg=dict(type='Pretrained', ...)``.
        init_cfg: weight init config.

    Backbone, neck, config storage and ``extract_feat`` are :class:`BaseDetector`'s.
    """

    def __init__(self, backbone: dict, neck: Optional[dict], rpn_head: dict,
                 train_cfg: Optional[dict], test_cfg: dict, pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if test_cfg is None or test_cfg.get('rpn') is None:
            raise ValueError("RPN needs test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=1000, "
                             "nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0))")
        super().__init__(init_cfg, backbone=backbone, neck=neck, train_cfg=train_cfg,
                         test_cfg=test_cfg, pretrained=pretrained)
        self.rpn_head = self.build_head_with_cfgs(rpn_head, 'rpn')

    def forward_dummy(self, img: Tensor) -> tuple:
        """Raw RPN outputs, for FLOPs counting and benchmarks."""
        return self.rpn_head(self.extract_feat(img))

    def forward_train(self, img: Tensor, img_metas: List[dict],
                      gt_bboxes: Optional[List[Tensor]] = None,
                      gt_labels: Optional[List[Tensor]] = None,
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks=None, proposals=None) -> Dict[str, List[Tensor]]:
        """``loss_rpn_cls`` / ``loss_rpn_bbox``; class labels (if the pipeline gives them),
        masks and proposals are not used."""
        if gt_bboxes is None:
            raise ValueError("RPN training needs gt_bboxes; add 'gt_bboxes' to the Collect "
                             'keys of the train pipeline')
        super().forward_train(img, img_metas)
        x = self.extract_feat(img)
        return self.rpn_head.forward_train(x, img_metas, gt_bboxes, None, gt_bboxes_ignore)

    def simple_test(self, img: Tensor, img_metas: List[dict],
                    rescale: bool = False) -> List[np.ndarray]:
        """Per image an (n, 5) array of proposals, in the original image frame if ``rescale``."""
        x = self.extract_feat(img)
        proposal_list = self.rpn_head.simple_test_rpn(x, img_metas)
        if rescale:
            for proposals, meta in zip(proposal_list, img_metas):
                proposals[:, :4] /= scale_factor_tensor(meta['scale_factor'], proposals)
        return [proposals.cpu().numpy() for proposals in proposal_list]

    def aug_test(self, imgs: Sequence[Tensor], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[np.ndarray]:
        """Proposals merged over augmented views (original image frame if ``rescale``)."""
        proposal_list = self.rpn_head.aug_test_rpn(self.extract_feats(imgs), img_metas)
        if not rescale:
            for proposals, img_meta in zip(proposal_list, img_metas[0]):
                proposals[:, :4] = bbox_mapping(proposals[:, :4], img_meta['img_shape'],
                                                img_meta['scale_factor'], img_meta['flip'],
                                                img_meta.get('flip_direction', 'horizontal'))
        return [proposals.cpu().numpy() for proposals in proposal_list]

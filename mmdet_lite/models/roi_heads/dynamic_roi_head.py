"""DynamicRoIHead: Dynamic R-CNN (Zhang et al., arXiv:2004.06002): during training the
assigner's IoU threshold rises and the SmoothL1 ``beta`` of the box loss falls with the
quality of the proposals.

Every ``update_iter_interval`` training iterations, the IoU threshold becomes the mean (over
those iterations) of each image's ``iou_topk``-th largest proposal IoU (at least
``initial_iou``), and ``beta`` the median of each iteration's ``beta_topk * N``-th smallest
mean absolute (dx, dy) regression target of the positives (at most ``initial_beta``).
Inference is :class:`StandardRoIHead`'s.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..builder import HEADS
from ..losses import SmoothL1Loss
from .assign_and_sample import assign_and_sample_single
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor

EPS = 1e-15


@HEADS.register_module()
class DynamicRoIHead(StandardRoIHead):
    """StandardRoIHead with dynamic label assignment and SmoothL1 ``beta`` (arguments of
    :class:`StandardRoIHead`; ``train_cfg.dynamic_rcnn`` holds ``iou_topk``, ``beta_topk``,
    ``update_iter_interval``, ``initial_iou``, ``initial_beta``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(self.bbox_head.loss_bbox, SmoothL1Loss):
            raise TypeError('DynamicRoIHead adapts the beta of its box loss: use '
                            "loss_bbox=dict(type='SmoothL1Loss', ...) in bbox_head, not "
                            f'{type(self.bbox_head.loss_bbox).__name__}')
        self.iou_history: List[float] = []
        self.beta_history: List[float] = []

    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None) -> Dict[str, Tensor]:
        """:meth:`StandardRoIHead.forward_train`, recording the statistics and updating the
        IoU threshold and ``beta`` every ``update_iter_interval`` iterations."""
        if self.train_cfg is None or 'dynamic_rcnn' not in self.train_cfg:
            raise KeyError('train_cfg.rcnn of DynamicRoIHead needs dynamic_rcnn=dict(iou_topk='
                           '75, beta_topk=10, update_iter_interval=100, initial_iou=0.4, '
                           'initial_beta=1.0)')
        losses = super().forward_train(x, img_metas, proposal_list, gt_bboxes, gt_labels,
                                       gt_bboxes_ignore, gt_masks)
        if len(self.iou_history) % self.train_cfg.dynamic_rcnn.update_iter_interval == 0:
            self.update_hyperparameters()
        return losses

    def _assign_and_sample(self, x: List[Tensor], proposal_list: List[Tensor],
                           gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                           gt_bboxes_ignore: Optional[List[Tensor]]) -> list:
        """The sampling results, recording the mean over images of the ``iou_topk``-th largest
        IoU of the proposals with their GTs."""
        if gt_bboxes_ignore is None:
            gt_bboxes_ignore = [None] * len(proposal_list)
        sampling_results, topk_ious = [], []
        for i in range(len(proposal_list)):
            assign_result, sampling_result = assign_and_sample_single(
                self.bbox_assigner, self.bbox_sampler, [lvl[i][None] for lvl in x],
                proposal_list[i], gt_bboxes[i], gt_labels[i], gt_bboxes_ignore[i])
            sampling_results.append(sampling_result)
            overlaps = assign_result.max_overlaps
            iou_topk = min(self.train_cfg.dynamic_rcnn.iou_topk, len(overlaps))
            if iou_topk > 0:
                topk_ious.append(torch.topk(overlaps, iou_topk)[0][-1].item())
        if topk_ious:
            self.iou_history.append(float(np.mean(topk_ious)))
        return sampling_results

    def _bbox_forward_train(self, x: List[Tensor], sampling_results: list,
                            gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                            img_metas: Optional[List[dict]] = None) -> dict:
        """The box losses, recording the ``beta_topk * N``-th smallest mean |(dx, dy)| target
        of the positives."""
        bbox_results = super()._bbox_forward_train(x, sampling_results, gt_bboxes, gt_labels,
                                                   img_metas)
        targets = bbox_results['bbox_targets']
        pos_inds = targets.bbox_weights[:, 0].nonzero().squeeze(1)
        beta_topk = min(self.train_cfg.dynamic_rcnn.beta_topk * len(sampling_results),
                        len(pos_inds))
        if beta_topk > 0:
            cur_target = targets.bbox_targets[pos_inds, :2].abs().mean(dim=1)
            self.beta_history.append(torch.kthvalue(cur_target, beta_topk)[0].item())
        return bbox_results

    def update_hyperparameters(self) -> Tuple[float, float]:
        """Set the assigner's IoU thresholds and the loss's ``beta`` from the recorded
        statistics (then cleared); returns ``(iou_thr, beta)``."""
        cfg = self.train_cfg.dynamic_rcnn
        new_iou_thr = max(cfg.initial_iou, np.mean(self.iou_history)) if self.iou_history \
            else self.bbox_assigner.pos_iou_thr
        self.iou_history = []
        self.bbox_assigner.pos_iou_thr = new_iou_thr
        self.bbox_assigner.neg_iou_thr = new_iou_thr
        self.bbox_assigner.min_pos_iou = new_iou_thr
        if not self.beta_history or np.median(self.beta_history) < EPS:
            new_beta = self.bbox_head.loss_bbox.beta
        else:
            new_beta = min(cfg.initial_beta, np.median(self.beta_history))
        self.beta_history = []
        self.bbox_head.loss_bbox.beta = new_beta
        return new_iou_thr, new_beta

"""PISARoIHead: Prime Sample Attention (Cao et al., arXiv:1904.04821) in the second stage:
score-based negative weights from ``ScoreHLRSampler``, importance-based positive re-weighting
(``train_cfg.isr``, :func:`isr_p`) and the classification-aware regression loss
(``train_cfg.carl``, :func:`carl_loss`). Inference is :class:`StandardRoIHead`'s.

Shapes: ``K`` sampled RoIs of the batch (``P_i`` positives then ``Q_i`` negatives per image).
"""
from typing import Dict, List, Optional

import torch

from ...core import bbox2roi
from ..builder import HEADS
from ..losses.pisa_loss import carl_loss, isr_p
from .assign_and_sample import assign_and_sample
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor


@HEADS.register_module()
class PISARoIHead(StandardRoIHead):
    """StandardRoIHead trained with PISA (arguments of :class:`StandardRoIHead`; ``train_cfg``
    may hold ``isr=dict(k=2, bias=0)`` and ``carl=dict(k=1, bias=0.2)``; its sampler may be a
    ``ScoreHLRSampler``, whose negative weights replace the negatives' label weights)."""

    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None) -> Dict[str, Tensor]:
        """Losses as :meth:`StandardRoIHead.forward_train`, plus ``loss_carl`` with CARL."""
        if self.bbox_assigner is None:
            raise RuntimeError('the RoI head was built without train_cfg; build the detector '
                               'with train_cfg=dict(rpn=..., rpn_proposal=..., rcnn=...)')
        sampled = assign_and_sample(self.bbox_assigner, self.bbox_sampler, x, proposal_list,
                                    gt_bboxes, gt_labels, gt_bboxes_ignore)
        sampling_results, neg_label_weights = [], []
        for result in sampled:
            # ScoreHLRSampler gives (SamplingResult, negative label weights (Q_i,))
            sampling_result, neg_weight = result if isinstance(result, tuple) else (result, None)
            sampling_results.append(sampling_result)
            neg_label_weights.append(neg_weight)
        losses: Dict[str, Tensor] = dict()
        bbox_results = self._bbox_forward_train(x, sampling_results, gt_bboxes, gt_labels,
                                                img_metas, neg_label_weights=neg_label_weights)
        losses.update(bbox_results['loss_bbox'])
        if self.with_mask:
            if gt_masks is None:
                raise ValueError('the RoI head has a mask head but no gt_masks were given')
            mask_results = self._mask_forward_train(x, sampling_results,
                                                    bbox_results['bbox_feats'], gt_masks)
            losses.update(mask_results['loss_mask'])
        return losses

    def _bbox_forward_train(self, x: List[Tensor], sampling_results: list,
                            gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                            img_metas: Optional[List[dict]] = None,
                            neg_label_weights: Optional[list] = None) -> dict:
        """The box losses with the sampler's negative weights, ISR-P targets and CARL."""
        rois = bbox2roi([res.bboxes for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        bbox_targets = self.bbox_head.get_targets(sampling_results, gt_bboxes, gt_labels,
                                                  self.train_cfg)
        if neg_label_weights is not None and neg_label_weights[0] is not None:
            label_weights = bbox_targets.label_weights
            start = 0
            for res, neg_weight in zip(sampling_results, neg_label_weights):
                num_pos, num_neg = res.pos_inds.size(0), res.neg_inds.size(0)
                label_weights[start + num_pos:start + num_pos + num_neg] = neg_weight
                start += num_pos + num_neg
        cls_score, bbox_pred = bbox_results['cls_score'], bbox_results['bbox_pred']
        isr_cfg = self.train_cfg.get('isr', None)
        if isr_cfg is not None:
            bbox_targets = isr_p(cls_score, bbox_pred, bbox_targets, rois, sampling_results,
                                 self.bbox_head.loss_cls, self.bbox_head.bbox_coder, **isr_cfg,
                                 num_class=self.bbox_head.num_classes)
        loss_bbox = self.bbox_head.loss(cls_score, bbox_pred, rois, *bbox_targets)
        carl_cfg = self.train_cfg.get('carl', None)
        if carl_cfg is not None:
            loss_bbox.update(carl_loss(cls_score, bbox_targets[0], bbox_pred, bbox_targets[2],
                                       self.bbox_head.loss_bbox, **carl_cfg,
                                       num_class=self.bbox_head.num_classes))
        bbox_results.update(loss_bbox=loss_bbox, rois=rois, bbox_targets=bbox_targets)
        return bbox_results

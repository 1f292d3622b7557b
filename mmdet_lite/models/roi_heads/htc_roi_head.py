"""HybridTaskCascadeRoIHead: Hybrid Task Cascade's second stage (Chen et al., arXiv:1901.07518).

A :class:`CascadeRoIHead` whose stages also exchange information:

* interleaved execution: each stage's mask branch trains on the RoIs its box branch has just
  regressed (re-assigned and re-sampled), not on the stage's input RoIs;
* mask information flow: the mask head of stage ``t`` adds the features of the mask heads of
  stages ``0..t-1`` (:class:`HTCMaskHead` with ``conv_res``);
* an optional semantic branch (:class:`FusedSemanticHead`) trained on ``gt_semantic_seg``,
  whose features, pooled per RoI, are added to the box and/or mask RoI features.

Shapes: ``N`` images, ``S`` stages, ``P`` RoIs, ``D`` RoI feature channels, ``C`` classes.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from ...core import bbox2roi
from ..builder import HEADS, build_head, build_roi_extractor
from .assign_and_sample import assign_and_sample
from .cascade_roi_head import CascadeRoIHead

Tensor = torch.Tensor


def add_pooled_semantic(semantic_roi_extractor, feats: Tensor, rois: Tensor,
                        semantic_feat: Tensor) -> Tensor:
    """RoI features ``feats`` (P, D, h, w) plus the semantic features (N, D, H_s, W_s) pooled
    on ``rois`` (P, 5), average-pooled to (h, w) if their sizes differ (HTC and SCNet)."""
    pooled = semantic_roi_extractor([semantic_feat], rois)
    if pooled.shape[-2:] != feats.shape[-2:]:
        pooled = F.adaptive_avg_pool2d(pooled, feats.shape[-2:])
    return feats + pooled


@HEADS.register_module()
class HybridTaskCascadeRoIHead(CascadeRoIHead):
    """Hybrid Task Cascade RoI head.

    Args:
        num_stages / stage_loss_weights: as :class:`CascadeRoIHead`.
        semantic_roi_extractor: pools the semantic features of each RoI (one level, the
            semantic head's stride).
        semantic_head: the semantic branch (``FusedSemanticHead``), or None.
        semantic_fusion: which RoI features get the pooled semantic features added:
            ``'bbox'`` and/or ``'mask'``.
        interleaved: train each stage's mask branch on the RoIs its box branch regressed.
        mask_info_flow: chain the mask heads of the stages (``HTCMaskHead``).
        **kwargs: :class:`CascadeRoIHead`'s other arguments.

    The losses are the cascade's plus ``loss_semantic_seg``.
    """

    def __init__(self,
                 num_stages: int,
                 stage_loss_weights: Sequence[float],
                 semantic_roi_extractor: Optional[dict] = None,
                 semantic_head: Optional[dict] = None,
                 semantic_fusion: Sequence[str] = ('bbox', 'mask'),
                 interleaved: bool = True,
                 mask_info_flow: bool = True,
                 **kwargs):
        super().__init__(num_stages, stage_loss_weights, **kwargs)
        if semantic_head is not None:
            if semantic_roi_extractor is None:
                raise ValueError('roi_head.semantic_head needs roi_head.semantic_roi_extractor '
                                 "(e.g. SingleRoIExtractor with featmap_strides=[8])")
            self.semantic_roi_extractor = build_roi_extractor(semantic_roi_extractor)
            self.semantic_head = build_head(semantic_head)
        unknown = set(semantic_fusion) - {'bbox', 'mask'}
        if unknown:
            raise ValueError(f'roi_head.semantic_fusion={tuple(semantic_fusion)} has '
                             f'{sorted(unknown)}; use a subset of (\'bbox\', \'mask\')')
        self.semantic_fusion = semantic_fusion
        self.interleaved = interleaved
        self.mask_info_flow = mask_info_flow

    @property
    def with_semantic(self) -> bool:
        return getattr(self, 'semantic_head', None) is not None

    # ------------------------------------------------------------------ forward
    def _fuse_semantic(self, feats: Tensor, rois: Tensor, semantic_feat: Optional[Tensor],
                       branch: str) -> Tensor:
        """``feats`` (P, D, h, w) plus the semantic features pooled on ``rois`` (P, 5) when the
        ``branch`` ('bbox' or 'mask') fuses them (average-pooled to (h, w) if sizes differ)."""
        if not self.with_semantic or branch not in self.semantic_fusion:
            return feats
        if semantic_feat is None:
            raise ValueError('HybridTaskCascadeRoIHead has a semantic head: pass '
                             'semantic_feat=semantic_head(x)[1] to its forward functions')
        return add_pooled_semantic(self.semantic_roi_extractor, feats, rois, semantic_feat)

    def _bbox_forward(self, stage: int, x: List[Tensor], rois: Tensor,
                      semantic_feat: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Stage ``stage`` on ``rois`` (P, 5), semantic features fused → ``cls_score``
        (P, C + 1), ``bbox_pred``, ``bbox_feats``."""
        extractor = self.bbox_roi_extractor[stage]
        bbox_feats = self._fuse_semantic(extractor(x[:extractor.num_inputs], rois), rois,
                                         semantic_feat, 'bbox')
        cls_score, bbox_pred = self.bbox_head[stage](bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    def _mask_feats(self, stage: int, x: List[Tensor], rois: Tensor,
                    semantic_feat: Optional[Tensor]) -> Tensor:
        """Mask RoI features (P, D, h, w) of stage ``stage``'s extractor, semantics fused."""
        extractor = self.mask_roi_extractor[stage]
        return self._fuse_semantic(extractor(x[:extractor.num_inputs], rois), rois,
                                   semantic_feat, 'mask')

    # ------------------------------------------------------------------ training
    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None,
                      gt_semantic_seg: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The cascade's losses (``s{i}.*``) and ``loss_semantic_seg``.

        Args: as :meth:`CascadeRoIHead.forward_train`, plus ``gt_semantic_seg``
            (N, 1, H_s, W_s) class map at the semantic head's resolution (255 = ignore).
        """
        self._check_train_inputs(gt_masks)
        losses: Dict[str, Tensor] = dict()
        semantic_feat = None
        if self.with_semantic:
            if gt_semantic_seg is None:
                raise ValueError('HybridTaskCascadeRoIHead has a semantic head but no '
                                 'gt_semantic_seg was given; load annotations with '
                                 'with_seg=True, add SegRescale and Collect gt_semantic_seg')
            semantic_pred, semantic_feat = self.semantic_head(x)
            losses['loss_semantic_seg'] = self.semantic_head.loss(semantic_pred, gt_semantic_seg)

        for stage in range(self.num_stages):
            self.current_stage = stage
            stage_cfg = self.train_cfg[stage]
            sample = (self.bbox_assigner[stage], self.bbox_sampler[stage], x)
            sampling_results = assign_and_sample(*sample, proposal_list, gt_bboxes, gt_labels,
                                                 gt_bboxes_ignore)
            bbox_results = self._bbox_forward_train(stage, x, sampling_results, gt_bboxes,
                                                    gt_labels, stage_cfg,
                                                    semantic_feat=semantic_feat)
            losses.update(self._stage_losses(stage, bbox_results['loss_bbox']))
            refined = False
            if self.with_mask:
                if self.interleaved:
                    # the mask branch learns on the boxes this stage has just regressed
                    proposal_list = self._refined_by_targets(stage, sampling_results,
                                                             bbox_results, img_metas)
                    refined = True
                    sampling_results = assign_and_sample(*sample, proposal_list, gt_bboxes,
                                                         gt_labels, gt_bboxes_ignore)
                mask_results = self._mask_forward_train(stage, x, sampling_results, gt_masks,
                                                        stage_cfg, semantic_feat=semantic_feat)
                losses.update(self._stage_losses(stage, mask_results['loss_mask']))
            if stage < self.num_stages - 1 and not refined:
                proposal_list = self._refined_by_targets(stage, sampling_results, bbox_results,
                                                         img_metas)
        return losses

    def _refined_by_targets(self, stage: int, sampling_results: list, bbox_results: dict,
                            img_metas: List[dict]) -> List[Tensor]:
        """Stage ``stage``'s sampled RoIs regressed (without gradient) by their target labels,
        the sampled GT boxes dropped (2.x's HTC: negatives keep the background label, which
        class-agnostic regression, HTC's setting, ignores)."""
        with torch.no_grad():
            return self.bbox_head[stage].refine_bboxes(
                bbox_results['rois'], bbox_results['bbox_targets'].labels,
                bbox_results['bbox_pred'], [res.pos_is_gt for res in sampling_results],
                img_metas)

    def _mask_forward_train(self, stage: int, x: List[Tensor], sampling_results: list,
                            gt_masks: list, rcnn_train_cfg,
                            semantic_feat: Optional[Tensor] = None) -> dict:
        """Stage ``stage``'s mask logits on the positive RoIs (with the features of the earlier
        stages' mask heads under mask information flow) and its ``loss_mask``."""
        pos_rois = bbox2roi([res.pos_bboxes for res in sampling_results])
        mask_feats = self._mask_feats(stage, x, pos_rois, semantic_feat)
        mask_head = self.mask_head[stage]
        if self.mask_info_flow:
            last_feat = None
            for previous in range(stage):
                last_feat = self.mask_head[previous](mask_feats, last_feat,
                                                     return_logits=False)
            mask_pred = mask_head(mask_feats, last_feat, return_feat=False)
        else:
            mask_pred = mask_head(mask_feats, return_feat=False)
        mask_targets = mask_head.get_targets(sampling_results, gt_masks, rcnn_train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        return dict(mask_pred=mask_pred,
                    loss_mask=mask_head.loss(mask_pred, mask_targets, pos_labels))

    # ------------------------------------------------------------------ testing
    def _test_context(self, x: List[Tensor]) -> dict:
        """The semantic features (N, D, H_s, W_s) every stage fuses, if there is a semantic
        head."""
        if not self.with_semantic:
            return {}
        return dict(semantic_feat=self.semantic_head(x)[1])

    def _stage_mask_preds(self, x: List[Tensor], mask_rois: Tensor,
                          semantic_feat: Optional[Tensor] = None) -> List[Tensor]:
        """Mask logits (P, C, h, w) of every stage on ``mask_rois`` (P, 5): the last stage's
        extractor pools once, and under mask information flow each head also takes the
        previous head's features."""
        mask_feats = self._mask_feats(self.num_stages - 1, x, mask_rois, semantic_feat)
        preds = []
        last_feat = None
        for mask_head in self.mask_head:
            if self.mask_info_flow:
                mask_pred, last_feat = mask_head(mask_feats, last_feat)
            else:
                mask_pred = mask_head(mask_feats, return_feat=False)
            preds.append(mask_pred)
        return preds

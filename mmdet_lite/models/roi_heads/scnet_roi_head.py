"""SCNetRoIHead: SCNet's second stage (Vu et al., arXiv:2012.10150): a box cascade whose stages
add semantic and global-context features to the RoI features, and one mask head on the last
stage's positives that also gets the last box head's shared features (feature relay).

Shapes: ``N`` images, ``S`` stages, ``P`` RoIs, ``D`` RoI feature channels, ``C`` classes.
"""
from typing import Dict, List, Optional, Sequence

import torch

from ...core import bbox2roi
from ..builder import HEADS, build_head, build_roi_extractor
from .assign_and_sample import assign_and_sample
from .cascade_roi_head import CascadeRoIHead
from .htc_roi_head import add_pooled_semantic

Tensor = torch.Tensor


@HEADS.register_module()
class SCNetRoIHead(CascadeRoIHead):
    """SCNet RoI head.

    Args:
        num_stages / stage_loss_weights: as :class:`CascadeRoIHead` (the box stages).
        semantic_roi_extractor / semantic_head: the semantic branch (``SCNetSemanticHead``);
            its pooled features are added to the box and mask RoI features.
        feat_relay_head: ``FeatureRelayHead`` from the box head's shared features to the mask
            RoI features.
        glbctx_head: ``GlobalContextHead``; its image-level features are added to every RoI
            feature of the image.
        **kwargs: :class:`CascadeRoIHead`'s other arguments; ``mask_roi_extractor`` and
            ``mask_head`` are single configs (one mask head, after the last stage).

    Losses: the cascade's box losses ``s{i}.*``, ``loss_semantic_seg``, ``loss_glbctx`` and
    ``loss_mask`` (weighted by the sum of the stage weights, as 2.x).
    """

    def __init__(self, num_stages: int, stage_loss_weights: Sequence[float],
                 semantic_roi_extractor: Optional[dict] = None,
                 semantic_head: Optional[dict] = None, feat_relay_head: Optional[dict] = None,
                 glbctx_head: Optional[dict] = None, **kwargs):
        super().__init__(num_stages, stage_loss_weights, **kwargs)
        if not self.with_mask:
            raise ValueError('SCNetRoIHead needs mask_roi_extractor and mask_head')
        if semantic_head is not None:
            self.semantic_roi_extractor = build_roi_extractor(semantic_roi_extractor)
            self.semantic_head = build_head(semantic_head)
        if feat_relay_head is not None:
            self.feat_relay_head = build_head(feat_relay_head)
        if glbctx_head is not None:
            self.glbctx_head = build_head(glbctx_head)

    def init_mask_head(self, mask_roi_extractor: Optional[dict], mask_head: dict) -> None:
        if mask_roi_extractor is None:
            raise ValueError('SCNetRoIHead needs a mask_roi_extractor (its mask head does not '
                             'share the box extractors)')
        self.mask_roi_extractor = build_roi_extractor(mask_roi_extractor)
        self.mask_head = build_head(mask_head)

    @property
    def _final_mask_head(self):
        return self.mask_head

    @property
    def with_semantic(self) -> bool:
        return getattr(self, 'semantic_head', None) is not None

    @property
    def with_feat_relay(self) -> bool:
        return getattr(self, 'feat_relay_head', None) is not None

    @property
    def with_glbctx(self) -> bool:
        return getattr(self, 'glbctx_head', None) is not None

    # ------------------------------------------------------------------ forward
    def _fuse_glbctx(self, roi_feats: Tensor, glbctx_feat: Tensor, rois: Tensor) -> Tensor:
        """RoI features (P, D, h, w) plus their image's context features (N, D, 1, 1)."""
        if roi_feats.size(0) != rois.size(0):
            raise ValueError(f'{roi_feats.size(0)} RoI features for {rois.size(0)} RoIs')
        return roi_feats + glbctx_feat[rois[:, 0].long()]

    def _slice_pos_feats(self, feats: Tensor, sampling_results: list) -> Tensor:
        """The rows of the positives (first in each image's block) of sampled-RoI ``feats``."""
        keep = torch.cat([
            torch.arange(len(res.bboxes), device=feats.device) < len(res.pos_bboxes)
            for res in sampling_results])
        return feats[keep]

    def _roi_feats(self, extractor, x: List[Tensor], rois: Tensor,
                   semantic_feat: Optional[Tensor], glbctx_feat: Optional[Tensor]) -> Tensor:
        feats = extractor(x[:extractor.num_inputs], rois)
        if self.with_semantic and semantic_feat is not None:
            feats = add_pooled_semantic(self.semantic_roi_extractor, feats, rois, semantic_feat)
        if self.with_glbctx and glbctx_feat is not None:
            feats = self._fuse_glbctx(feats, glbctx_feat, rois)
        return feats

    def _bbox_forward(self, stage: int, x: List[Tensor], rois: Tensor,
                      semantic_feat: Optional[Tensor] = None,
                      glbctx_feat: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Stage ``stage`` on ``rois`` (P, 5) → ``cls_score``, ``bbox_pred`` and the box head's
        shared features ``relayed_feat`` (P, D')."""
        bbox_feats = self._roi_feats(self.bbox_roi_extractor[stage], x, rois, semantic_feat,
                                     glbctx_feat)
        cls_score, bbox_pred, relayed_feat = self.bbox_head[stage](bbox_feats,
                                                                   return_shared_feat=True)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, relayed_feat=relayed_feat)

    def _mask_forward(self, x: List[Tensor], rois: Tensor,
                      semantic_feat: Optional[Tensor] = None,
                      glbctx_feat: Optional[Tensor] = None,
                      relayed_feat: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Mask logits (P, C, 2h, 2w) of ``rois`` (P, 5), relayed box features added."""
        mask_feats = self._roi_feats(self.mask_roi_extractor, x, rois, semantic_feat,
                                     glbctx_feat)
        if self.with_feat_relay and relayed_feat is not None:
            mask_feats = mask_feats + relayed_feat
        return dict(mask_pred=self.mask_head(mask_feats))

    # ------------------------------------------------------------------ training
    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None,
                      gt_semantic_seg: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Losses (see the class docstring); ``gt_semantic_seg`` (N, 1, H_s, W_s) feeds the
        semantic branch."""
        self._check_train_inputs(gt_masks)
        losses: Dict[str, Tensor] = dict()
        semantic_feat = glbctx_feat = None
        if self.with_semantic:
            if gt_semantic_seg is None:
                raise ValueError('SCNetRoIHead has a semantic head but no gt_semantic_seg was '
                                 'given; load annotations with with_seg=True')
            semantic_pred, semantic_feat = self.semantic_head(x)
            losses['loss_semantic_seg'] = self.semantic_head.loss(semantic_pred, gt_semantic_seg)
        if self.with_glbctx:
            mc_pred, glbctx_feat = self.glbctx_head(x)
            losses['loss_glbctx'] = self.glbctx_head.loss(mc_pred, gt_labels)

        for stage in range(self.num_stages):
            self.current_stage = stage
            stage_cfg = self.train_cfg[stage]
            sampling_results = assign_and_sample(
                self.bbox_assigner[stage], self.bbox_sampler[stage], x, proposal_list,
                gt_bboxes, gt_labels, gt_bboxes_ignore)
            bbox_results = self._bbox_forward_train(stage, x, sampling_results, gt_bboxes,
                                                    gt_labels, stage_cfg,
                                                    semantic_feat=semantic_feat,
                                                    glbctx_feat=glbctx_feat)
            losses.update(self._stage_losses(stage, bbox_results['loss_bbox']))
            if stage < self.num_stages - 1:
                # as 2.x's SCNet (and HTC): negatives keep the background label
                with torch.no_grad():
                    proposal_list = self.bbox_head[stage].refine_bboxes(
                        bbox_results['rois'], bbox_results['bbox_targets'].labels,
                        bbox_results['bbox_pred'],
                        [res.pos_is_gt for res in sampling_results], img_metas)

        relayed_feat = None
        if self.with_feat_relay:
            relayed_feat = self.feat_relay_head(
                self._slice_pos_feats(bbox_results['relayed_feat'], sampling_results))
        mask_loss = self._mask_forward_train(x, sampling_results, gt_masks,
                                             self.train_cfg[-1], semantic_feat, glbctx_feat,
                                             relayed_feat)
        losses['loss_mask'] = sum(self.stage_loss_weights) * mask_loss['loss_mask']
        return losses

    def _mask_forward_train(self, x: List[Tensor], sampling_results: list, gt_masks: list,
                            rcnn_train_cfg, semantic_feat: Optional[Tensor] = None,
                            glbctx_feat: Optional[Tensor] = None,
                            relayed_feat: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The mask head's ``loss_mask`` on the last stage's positive RoIs."""
        pos_rois = bbox2roi([res.pos_bboxes for res in sampling_results])
        mask_pred = self._mask_forward(x, pos_rois, semantic_feat, glbctx_feat,
                                       relayed_feat)['mask_pred']
        mask_targets = self.mask_head.get_targets(sampling_results, gt_masks, rcnn_train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        return self.mask_head.loss(mask_pred, mask_targets, pos_labels)

    # ------------------------------------------------------------------ testing
    def _test_context(self, x: List[Tensor]) -> dict:
        """The semantic and global-context features every test forward fuses."""
        context = {}
        if self.with_semantic:
            context['semantic_feat'] = self.semantic_head(x)[1]
        if self.with_glbctx:
            context['glbctx_feat'] = self.glbctx_head(x)[1]
        return context

    def _stage_mask_preds(self, x: List[Tensor], mask_rois: Tensor,
                          semantic_feat: Optional[Tensor] = None,
                          glbctx_feat: Optional[Tensor] = None) -> List[Tensor]:
        """The one mask head's logits (P, C, h, w) on ``mask_rois`` (P, 5), with the last box
        stage's features relayed."""
        relayed_feat = self._bbox_forward(-1, x, mask_rois, semantic_feat,
                                          glbctx_feat)['relayed_feat']
        if self.with_feat_relay:
            relayed_feat = self.feat_relay_head(relayed_feat)
        return [self._mask_forward(x, mask_rois, semantic_feat, glbctx_feat,
                                   relayed_feat)['mask_pred']]

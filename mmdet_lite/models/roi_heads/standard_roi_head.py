"""StandardRoIHead: Faster/Mask R-CNN's second stage.

Shapes: ``N`` images, ``K`` sampled RoIs of the batch (``rois`` (K, 5) with the image index
first), ``P`` positive RoIs, ``C`` foreground classes.
"""
from typing import Dict, List, Optional

import torch

from ...core import bbox2result, bbox2roi, build_assigner, build_sampler
from ...core.bbox.scale_factor import scale_factor_tensor
from ..builder import HEADS, build_head, build_roi_extractor
from .assign_and_sample import assign_and_sample
from .base_roi_head import BaseRoIHead
from .test_mixins import BBoxTestMixin, MaskTestMixin

Tensor = torch.Tensor


@HEADS.register_module()
class StandardRoIHead(BBoxTestMixin, MaskTestMixin, BaseRoIHead):
    """Assign and sample proposals (GT boxes added), pool them, run the box head and, on the
    positive RoIs, the mask head."""

    def init_assigner_sampler(self) -> None:
        self.bbox_assigner = None
        self.bbox_sampler = None
        if self.train_cfg:
            for key in ('assigner', 'sampler'):
                if key not in self.train_cfg:
                    raise KeyError(f'train_cfg.rcnn has no {key!r}; add e.g. '
                                   "assigner=dict(type='MaxIoUAssigner', ...) and "
                                   "sampler=dict(type='RandomSampler', num=512, ...)")
            self.bbox_assigner = build_assigner(self.train_cfg.assigner)
            self.bbox_sampler = build_sampler(self.train_cfg.sampler, context=self)

    def init_bbox_head(self, bbox_roi_extractor: dict, bbox_head: dict) -> None:
        self.bbox_roi_extractor = build_roi_extractor(bbox_roi_extractor)
        self.bbox_head = build_head(bbox_head)

    def init_mask_head(self, mask_roi_extractor: Optional[dict], mask_head: dict) -> None:
        if mask_roi_extractor is not None:
            self.mask_roi_extractor = build_roi_extractor(mask_roi_extractor)
            self.share_roi_extractor = False
        else:
            self.share_roi_extractor = True
            self.mask_roi_extractor = self.bbox_roi_extractor
        self.mask_head = build_head(mask_head)

    # ------------------------------------------------------------------ forward
    def forward_dummy(self, x: List[Tensor], proposals: Tensor) -> tuple:
        """Raw outputs on ``proposals`` (K, 4) of image 0 (for FLOPs counting)."""
        outs: tuple = ()
        rois = bbox2roi([proposals])
        if self.with_bbox:
            bbox_results = self._bbox_forward(x, rois)
            outs = outs + (bbox_results['cls_score'], bbox_results['bbox_pred'])
        if self.with_mask:
            mask_results = self._mask_forward(x, rois[:100])
            outs = outs + (mask_results['mask_pred'], )
        return outs

    def _bbox_forward(self, x: List[Tensor], rois: Tensor) -> Dict[str, Tensor]:
        """Pool ``rois`` (K, 5) → ``cls_score`` (K, C + 1), ``bbox_pred``, ``bbox_feats``."""
        bbox_feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred = self.bbox_head(bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    def _mask_forward(self, x: List[Tensor], rois: Optional[Tensor] = None,
                      pos_inds: Optional[Tensor] = None,
                      bbox_feats: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Mask logits of ``rois`` (P, 5), or of ``bbox_feats[pos_inds]`` (shared head case)."""
        if (rois is None) == (pos_inds is None or bbox_feats is None):
            raise ValueError('_mask_forward takes either rois, or pos_inds and bbox_feats')
        if rois is not None:
            mask_feats = self.mask_roi_extractor(x[:self.mask_roi_extractor.num_inputs], rois)
            if self.with_shared_head:
                mask_feats = self.shared_head(mask_feats)
        else:
            mask_feats = bbox_feats[pos_inds]
        return dict(mask_pred=self.mask_head(mask_feats), mask_feats=mask_feats)

    # ------------------------------------------------------------------ training
    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None, **kwargs) -> Dict[str, Tensor]:
        """Losses of the box branch (``loss_cls``, ``acc``, ``loss_bbox``) and mask branch
        (``loss_mask``). Further annotations the detector passes on (e.g. ``gt_semantic_seg``
        of a pipeline that loads it) are ignored, as in 2.x.

        Args:
            x: feature levels, each (N, C_feat, H_l, W_l).
            proposal_list: per image, proposals (K_i, 4 or 5); may be empty.
            gt_bboxes / gt_labels: per image, (G_i, 4) and (G_i,); may be empty.
            gt_bboxes_ignore: per image, boxes (I_i, 4) not to be sampled, or None.
            gt_masks: per image, ``BitmapMasks``/``PolygonMasks`` of the G_i objects.
        """
        if self.bbox_assigner is None:
            raise RuntimeError('the RoI head was built without train_cfg; build the detector '
                               'with train_cfg=dict(rpn=..., rpn_proposal=..., rcnn=...)')
        if self.with_mask and gt_masks is None:
            raise ValueError('the RoI head has a mask head but no gt_masks were given; load '
                             'annotations with with_mask=True and Collect gt_masks')
        sampling_results = self._assign_and_sample(x, proposal_list, gt_bboxes, gt_labels,
                                                   gt_bboxes_ignore)

        losses: Dict[str, Tensor] = dict()
        bbox_results = None
        if self.with_bbox:
            bbox_results = self._bbox_forward_train(x, sampling_results, gt_bboxes, gt_labels,
                                                    img_metas)
            losses.update(bbox_results['loss_bbox'])
        if self.with_mask:
            bbox_feats = bbox_results['bbox_feats'] if bbox_results is not None else None
            mask_results = self._mask_forward_train(x, sampling_results, bbox_feats, gt_masks)
            losses.update(mask_results['loss_mask'])
        return losses

    def _assign_and_sample(self, x: List[Tensor], proposal_list: List[Tensor],
                           gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                           gt_bboxes_ignore: Optional[List[Tensor]]) -> list:
        """Per image, the ``SamplingResult`` of its proposals (a hook for heads that watch
        the assignment, e.g. Dynamic R-CNN's)."""
        return assign_and_sample(self.bbox_assigner, self.bbox_sampler, x, proposal_list,
                                 gt_bboxes, gt_labels, gt_bboxes_ignore)

    def _bbox_forward_train(self, x: List[Tensor], sampling_results: list,
                            gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                            img_metas: Optional[List[dict]] = None) -> dict:
        """Box-branch forward on the sampled RoIs, its targets and ``loss_bbox``
        (``img_metas``: 2.x's argument, for subclasses such as Grid R-CNN's)."""
        rois = bbox2roi([res.bboxes for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        bbox_targets = self.bbox_head.get_targets(sampling_results, gt_bboxes, gt_labels,
                                                  self.train_cfg)
        loss_bbox = self.bbox_head.loss(bbox_results['cls_score'], bbox_results['bbox_pred'],
                                        rois, *bbox_targets)
        bbox_results.update(loss_bbox=loss_bbox, rois=rois, bbox_targets=bbox_targets)
        return bbox_results

    def _mask_forward_train(self, x: List[Tensor], sampling_results: list,
                            bbox_feats: Optional[Tensor], gt_masks: list) -> dict:
        if not self.share_roi_extractor or bbox_feats is None:
            pos_rois = bbox2roi([res.pos_bboxes for res in sampling_results])
            mask_results = self._mask_forward(x, pos_rois)
        else:
            device = bbox_feats.device
            pos_inds = torch.cat([
                torch.cat([torch.ones(res.pos_bboxes.shape[0], device=device, dtype=torch.bool),
                           torch.zeros(res.neg_bboxes.shape[0], device=device,
                                       dtype=torch.bool)]) for res in sampling_results
            ])
            mask_results = self._mask_forward(x, pos_inds=pos_inds, bbox_feats=bbox_feats)
        mask_targets = self.mask_head.get_targets(sampling_results, gt_masks, self.train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        loss_mask = self.mask_head.loss(mask_results['mask_pred'], mask_targets, pos_labels)
        mask_results.update(loss_mask=loss_mask, mask_targets=mask_targets)
        return mask_results

    # ------------------------------------------------------------------ testing
    def simple_test(self, x: List[Tensor], proposal_list: List[Tensor], img_metas: List[dict],
                    proposals: Optional[List[Tensor]] = None, rescale: bool = False) -> list:
        """Per image ``bbox_results`` (list over C of ndarray (n, 5)), or with a mask head
        ``(bbox_results, segm_results)`` with ``segm_results[c]`` a list of (H, W) masks."""
        if not self.with_bbox:
            raise RuntimeError('StandardRoIHead.simple_test needs a bbox_head')
        if self.test_cfg is None:
            raise RuntimeError('the RoI head has no test_cfg; build the detector with '
                               'test_cfg=dict(rpn=..., rcnn=...)')
        det_bboxes, det_labels = self.simple_test_bboxes(x, img_metas, proposal_list,
                                                         self.test_cfg, rescale=rescale)
        num_classes = self.bbox_head.num_classes
        bbox_results = [bbox2result(det_bboxes[i], det_labels[i], num_classes)
                        for i in range(len(det_bboxes))]
        if not self.with_mask:
            return bbox_results
        segm_results = self.simple_test_mask(x, img_metas, det_bboxes, det_labels,
                                             rescale=rescale)
        return list(zip(bbox_results, segm_results))

    def aug_test(self, x: List[List[Tensor]], proposal_list: List[Tensor],
                 img_metas: List[List[dict]], rescale: bool = False) -> list:
        """Results of one image under several augmentations (a list of one result).

        Boxes are merged in the original frame; without ``rescale`` they are scaled to the
        first augmentation's frame.
        """
        det_bboxes, det_labels = self.aug_test_bboxes(x, img_metas, proposal_list,
                                                      self.test_cfg)
        if rescale:
            _det_bboxes = det_bboxes
        else:
            _det_bboxes = det_bboxes.clone()
            _det_bboxes[:, :4] *= scale_factor_tensor(img_metas[0][0]['scale_factor'],
                                                      det_bboxes)
        bbox_results = bbox2result(_det_bboxes, det_labels, self.bbox_head.num_classes)
        if not self.with_mask:
            return [bbox_results]
        segm_results = self.aug_test_mask(x, img_metas, det_bboxes, det_labels)
        return [(bbox_results, segm_results)]

"""CascadeRoIHead: Cascade R-CNN's second stage (Cai and Vasconcelos, arXiv:1712.00726).

A sequence of box heads, each trained on the boxes the previous one regressed, with its own
assigner (rising IoU thresholds), sampler and loss weight; at test time every stage refines the
RoIs and the class scores of all stages are averaged. An optional mask head per stage; at test
time the stages' mask probabilities are averaged.

Shapes: ``N`` images, ``S`` stages, ``K_i`` RoIs of image i, ``n_i`` detections of image i,
``C`` foreground classes.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from ...core import bbox2result, bbox2roi, bbox_mapping, build_assigner, build_sampler
from ...core import merge_aug_masks
from ...core.bbox.scale_factor import scale_factor_tensor
from ..builder import HEADS, build_head, build_roi_extractor
from ..utils.results import Detections, RoICandidates
from .assign_and_sample import assign_and_sample
from .base_roi_head import BaseRoIHead
from .test_mixins import BBoxTestMixin, MaskTestMixin

Tensor = torch.Tensor


def _per_stage(cfg: Union[dict, Sequence[dict]], num_stages: int, key: str) -> List[dict]:
    """``cfg`` for every stage: a list as given (one per stage), or one dict repeated."""
    if isinstance(cfg, (list, tuple)):
        if len(cfg) != num_stages:
            raise ValueError(f'roi_head.{key} lists {len(cfg)} configs but num_stages is '
                             f'{num_stages}; give one per stage or a single dict for all')
        return list(cfg)
    return [cfg] * num_stages


@HEADS.register_module()
class CascadeRoIHead(BaseRoIHead, BBoxTestMixin, MaskTestMixin):
    """Cascade RoI head: ``num_stages`` box heads (and mask heads), refined stage by stage.

    Args:
        num_stages: number of stages ``S``.
        stage_loss_weights: the weight of each stage's losses (S floats).
        bbox_roi_extractor / bbox_head: one config for all stages, or a list of S.
        mask_roi_extractor / mask_head: likewise; without ``mask_roi_extractor`` the mask heads
            pool with the box extractors.
        shared_head: not supported (as in 2.x).
        train_cfg: a list of S rcnn train configs (``assigner``, ``sampler``, ``pos_weight``,
            ``mask_size``), one per stage.
        test_cfg: rcnn test config (``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``).

    Losses are named ``s{stage}.{name}`` (``s0.loss_cls``, ``s1.loss_bbox``, ``s2.acc``, ...),
    the ``loss`` ones multiplied by the stage's weight.
    """

    def __init__(self,
                 num_stages: int,
                 stage_loss_weights: Sequence[float],
                 bbox_roi_extractor: Optional[Union[dict, List[dict]]] = None,
                 bbox_head: Optional[Union[dict, List[dict]]] = None,
                 mask_roi_extractor: Optional[Union[dict, List[dict]]] = None,
                 mask_head: Optional[Union[dict, List[dict]]] = None,
                 shared_head: Optional[dict] = None,
                 train_cfg: Optional[List[dict]] = None,
                 test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        if bbox_roi_extractor is None or bbox_head is None:
            raise ValueError(f'{type(self).__name__} needs bbox_roi_extractor and bbox_head')
        if shared_head is not None:
            raise ValueError(f'{type(self).__name__} does not support shared_head (neither did '
                             'mmdetection 2.x); remove roi_head.shared_head')
        if len(stage_loss_weights) != num_stages:
            raise ValueError(f'roi_head.stage_loss_weights has {len(stage_loss_weights)} '
                             f'weights but num_stages is {num_stages}; give one per stage')
        if train_cfg is not None and (not isinstance(train_cfg, (list, tuple))
                                      or len(train_cfg) != num_stages):
            raise ValueError(f'train_cfg.rcnn of {type(self).__name__} must be a list of '
                             f'{num_stages} per-stage configs (assigner, sampler, pos_weight), '
                             f'got {train_cfg!r}')
        self.num_stages = num_stages
        self.stage_loss_weights = list(stage_loss_weights)
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head,
                         mask_roi_extractor=mask_roi_extractor, mask_head=mask_head,
                         shared_head=shared_head, train_cfg=train_cfg, test_cfg=test_cfg,
                         pretrained=pretrained, init_cfg=init_cfg)

    def init_bbox_head(self, bbox_roi_extractor: Union[dict, List[dict]],
                       bbox_head: Union[dict, List[dict]]) -> None:
        self.bbox_roi_extractor = nn.ModuleList([
            build_roi_extractor(cfg) for cfg in
            _per_stage(bbox_roi_extractor, self.num_stages, 'bbox_roi_extractor')])
        self.bbox_head = nn.ModuleList([
            build_head(cfg) for cfg in _per_stage(bbox_head, self.num_stages, 'bbox_head')])

    def init_mask_head(self, mask_roi_extractor: Optional[Union[dict, List[dict]]],
                       mask_head: Union[dict, List[dict]]) -> None:
        self.mask_head = nn.ModuleList([
            build_head(cfg) for cfg in _per_stage(mask_head, self.num_stages, 'mask_head')])
        if mask_roi_extractor is not None:
            self.share_roi_extractor = False
            self.mask_roi_extractor = nn.ModuleList([
                build_roi_extractor(cfg) for cfg in
                _per_stage(mask_roi_extractor, self.num_stages, 'mask_roi_extractor')])
        else:
            self.share_roi_extractor = True
            self.mask_roi_extractor = self.bbox_roi_extractor

    @property
    def _final_mask_head(self):
        """The mask head whose ``get_seg_masks`` pastes the test masks (the last stage's)."""
        return self.mask_head[-1]

    def init_assigner_sampler(self) -> None:
        """One assigner and sampler per stage; ``current_stage`` tells a sampler that uses the
        head as context (OHEM) which stage it serves."""
        self.bbox_assigner = []
        self.bbox_sampler = []
        if self.train_cfg is None:
            return
        for stage, stage_cfg in enumerate(self.train_cfg):
            for key in ('assigner', 'sampler'):
                if key not in stage_cfg:
                    raise KeyError(f'train_cfg.rcnn[{stage}] has no {key!r}; every stage needs '
                                   'an assigner and a sampler')
            self.current_stage = stage
            self.bbox_assigner.append(build_assigner(stage_cfg.assigner))
            self.bbox_sampler.append(build_sampler(stage_cfg.sampler, context=self))

    # ------------------------------------------------------------------ forward
    def forward_dummy(self, x: List[Tensor], proposals: Tensor) -> tuple:
        """Raw outputs of every stage on ``proposals`` (K, 4) of image 0 (FLOPs counting)."""
        outs: tuple = ()
        context = self._test_context(x)
        rois = bbox2roi([proposals])
        for stage in range(self.num_stages):
            bbox_results = self._bbox_forward(stage, x, rois, **context)
            outs = outs + (bbox_results['cls_score'], bbox_results['bbox_pred'])
        if self.with_mask:
            for mask_pred in self._stage_mask_preds(x, rois[:100], **context):
                outs = outs + (mask_pred, )
        return outs

    def _bbox_forward(self, stage: int, x: List[Tensor], rois: Tensor) -> Dict[str, Tensor]:
        """Stage ``stage`` on ``rois`` (K, 5) → ``cls_score`` (K, C + 1), ``bbox_pred``,
        ``bbox_feats``."""
        extractor = self.bbox_roi_extractor[stage]
        bbox_feats = extractor(x[:extractor.num_inputs], rois)
        cls_score, bbox_pred = self.bbox_head[stage](bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    def _mask_forward(self, stage: int, x: List[Tensor], rois: Tensor) -> Dict[str, Tensor]:
        """Mask logits (P, C, h, w) of stage ``stage`` on ``rois`` (P, 5)."""
        extractor = self.mask_roi_extractor[stage]
        mask_feats = extractor(x[:extractor.num_inputs], rois)
        return dict(mask_pred=self.mask_head[stage](mask_feats))

    # ------------------------------------------------------------------ training
    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None) -> Dict[str, Tensor]:
        """Losses of every stage (``s{i}.loss_cls``, ``s{i}.acc``, ``s{i}.loss_bbox``,
        ``s{i}.loss_mask``).

        Args:
            x: feature levels, each (N, C_feat, H_l, W_l).
            proposal_list: per image, proposals (K_i, 4 or 5) of the first stage.
            gt_bboxes / gt_labels: per image, (G_i, 4) and (G_i,).
            gt_bboxes_ignore: per image, boxes (I_i, 4) never sampled, or None.
            gt_masks: per image, ``BitmapMasks``/``PolygonMasks`` (with a mask head).
        """
        self._check_train_inputs(gt_masks)
        losses: Dict[str, Tensor] = dict()
        for stage in range(self.num_stages):
            self.current_stage = stage
            stage_cfg = self.train_cfg[stage]
            sampling_results = assign_and_sample(
                self.bbox_assigner[stage], self.bbox_sampler[stage], x, proposal_list,
                gt_bboxes, gt_labels, gt_bboxes_ignore)
            bbox_results = self._bbox_forward_train(stage, x, sampling_results, gt_bboxes,
                                                    gt_labels, stage_cfg)
            losses.update(self._stage_losses(stage, bbox_results['loss_bbox']))
            if self.with_mask:
                mask_results = self._mask_forward_train(stage, x, sampling_results, gt_masks,
                                                        stage_cfg, bbox_results['bbox_feats'])
                losses.update(self._stage_losses(stage, mask_results['loss_mask']))
            if stage < self.num_stages - 1:
                proposal_list = self._refined_proposals(stage, sampling_results, bbox_results,
                                                        img_metas)
                if proposal_list is None:
                    break
        return losses

    def _check_train_inputs(self, gt_masks: Optional[list]) -> None:
        if not self.bbox_assigner:
            raise RuntimeError('the RoI head was built without train_cfg; build the detector '
                               'with train_cfg=dict(rpn=..., rpn_proposal=..., rcnn=[...])')
        if self.with_mask and gt_masks is None:
            raise ValueError('the RoI head has mask heads but no gt_masks were given; load '
                             'annotations with with_mask=True and Collect gt_masks')

    def _stage_losses(self, stage: int, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """``losses`` renamed ``s{stage}.{name}``; the ``loss`` ones times the stage weight."""
        weight = self.stage_loss_weights[stage]
        return {f's{stage}.{name}': value * weight if 'loss' in name else value
                for name, value in losses.items()}

    def _bbox_forward_train(self, stage: int, x: List[Tensor], sampling_results: list,
                            gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                            rcnn_train_cfg, **context) -> dict:
        """Stage ``stage``'s forward on the sampled RoIs, its targets and ``loss_bbox``
        (``context``: further inputs of :meth:`_bbox_forward`, HTC's ``semantic_feat``)."""
        rois = bbox2roi([res.bboxes for res in sampling_results])
        bbox_results = self._bbox_forward(stage, x, rois, **context)
        bbox_head = self.bbox_head[stage]
        bbox_targets = bbox_head.get_targets(sampling_results, gt_bboxes, gt_labels,
                                             rcnn_train_cfg)
        loss_bbox = bbox_head.loss(bbox_results['cls_score'], bbox_results['bbox_pred'], rois,
                                   *bbox_targets)
        bbox_results.update(loss_bbox=loss_bbox, rois=rois, bbox_targets=bbox_targets)
        return bbox_results

    def _mask_forward_train(self, stage: int, x: List[Tensor], sampling_results: list,
                            gt_masks: list, rcnn_train_cfg,
                            bbox_feats: Optional[Tensor] = None) -> dict:
        """Stage ``stage``'s mask logits on the positive RoIs and its ``loss_mask``.

        ``bbox_feats`` is 2.x's argument, unused: the mask branch always pools its own RoIs.
        """
        pos_rois = bbox2roi([res.pos_bboxes for res in sampling_results])
        mask_results = self._mask_forward(stage, x, pos_rois)
        mask_head = self.mask_head[stage]
        mask_targets = mask_head.get_targets(sampling_results, gt_masks, rcnn_train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        mask_results.update(loss_mask=mask_head.loss(mask_results['mask_pred'], mask_targets,
                                                     pos_labels))
        return mask_results

    def _refined_proposals(self, stage: int, sampling_results: list, bbox_results: dict,
                           img_metas: List[dict]) -> Optional[List[Tensor]]:
        """The next stage's proposals: stage ``stage``'s sampled RoIs regressed (without
        gradient) by their GT class, negatives by their best foreground class; the sampled GT
        boxes are dropped. None when the stage had no RoI at all."""
        bbox_head = self.bbox_head[stage]
        with torch.no_grad():
            cls_score = bbox_results['cls_score']
            if cls_score.numel() == 0:
                return None
            if bbox_head.custom_activation:
                cls_score = bbox_head.loss_cls.get_activation(cls_score)
            roi_labels = bbox_results['bbox_targets'].labels
            roi_labels = torch.where(roi_labels == bbox_head.num_classes,
                                     cls_score[:, :-1].argmax(1), roi_labels)
            return bbox_head.refine_bboxes(bbox_results['rois'], roi_labels,
                                           bbox_results['bbox_pred'],
                                           [res.pos_is_gt for res in sampling_results],
                                           img_metas)

    # ------------------------------------------------------------------ testing
    def _test_context(self, x: List[Tensor]) -> dict:
        """Extra inputs that every test-time forward of the stages takes (none here; HTC's
        semantic features)."""
        return {}

    def simple_test(self, x: List[Tensor], proposal_list: List[Tensor], img_metas: List[dict],
                    rescale: bool = False) -> list:
        """Per image ``bbox_results`` (list over C of ndarray (n, 5)), or with mask heads
        ``(bbox_results, segm_results)``; scores averaged over the stages."""
        if self.test_cfg is None:
            raise RuntimeError('the RoI head has no test_cfg; build the detector with '
                               'test_cfg=dict(rpn=..., rcnn=...)')
        context = self._test_context(x)
        det_bboxes, det_labels = self.simple_test_bboxes(x, img_metas, proposal_list,
                                                         self.test_cfg, rescale=rescale,
                                                         **context)
        num_classes = self.bbox_head[-1].num_classes
        bbox_results = [bbox2result(det_bboxes[i], det_labels[i], num_classes)
                        for i in range(len(det_bboxes))]
        if not self.with_mask:
            return bbox_results
        segm_results = self.simple_test_mask(x, img_metas, det_bboxes, det_labels,
                                             rescale=rescale, **context)
        return list(zip(bbox_results, segm_results))

    def simple_test_bboxes(self, x: List[Tensor], img_metas: List[dict],
                           proposals: List[Tensor], rcnn_test_cfg, rescale: bool = False,
                           **context) -> Union[Detections, RoICandidates]:
        """The cascade's detections: every stage scores the RoIs the previous one regressed;
        the last stage's boxes are kept with the class scores (logits) averaged over stages.

        ``proposals`` holds per image (K_i, 4 or 5) boxes; returns ``Detections`` lists
        ((n_i, 5), (n_i,)), or with ``rcnn_test_cfg=None`` the ``RoICandidates`` before NMS.
        """
        if not context:
            context = self._test_context(x)
        num_imgs = len(proposals)
        num_per_img = tuple(len(p) for p in proposals)
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            return self._empty_bbox_results(rois, num_imgs, rcnn_test_cfg)
        stage_scores = []
        for stage in range(self.num_stages):
            bbox_results = self._bbox_forward(stage, x, rois, **context)
            rois_per_img = rois.split(num_per_img, 0)
            cls_scores = bbox_results['cls_score'].split(num_per_img, 0)
            bbox_preds = self._split_bbox_pred(stage, bbox_results['bbox_pred'], num_per_img)
            stage_scores.append(cls_scores)
            if stage < self.num_stages - 1:
                rois = torch.cat([
                    self._regress_rois(stage, rois_per_img[i], cls_scores[i], bbox_preds[i],
                                       img_metas[i]) for i in range(num_imgs)])
        last_head = self.bbox_head[-1]
        det_bboxes, det_labels = [], []
        for i in range(num_imgs):
            if num_per_img[i] == 0:
                empty_bboxes, empty_labels = self._empty_bbox_results(rois, 1, rcnn_test_cfg)
                det_bboxes.append(empty_bboxes[0])
                det_labels.append(empty_labels[0])
                continue
            cls_score = sum(scores[i] for scores in stage_scores) / float(self.num_stages)
            det_bbox, det_label = last_head.get_bboxes(
                rois_per_img[i], cls_score, bbox_preds[i], img_metas[i]['img_shape'],
                img_metas[i]['scale_factor'], rescale=rescale, cfg=rcnn_test_cfg)
            det_bboxes.append(det_bbox)
            det_labels.append(det_label)
        if rcnn_test_cfg is None:
            return RoICandidates(det_bboxes, det_labels)
        return Detections(det_bboxes, det_labels)

    def _split_bbox_pred(self, stage: int, bbox_pred, num_per_img: Sequence[int]) -> tuple:
        """Per image parts of a stage's batch ``bbox_pred`` (a tensor, or a head's own kind)."""
        if bbox_pred is None:
            return (None, ) * len(num_per_img)
        if isinstance(bbox_pred, Tensor):
            return bbox_pred.split(num_per_img, 0)
        return self.bbox_head[stage].bbox_pred_split(bbox_pred, num_per_img)

    def _regress_rois(self, stage: int, rois: Tensor, cls_score: Tensor, bbox_pred,
                      img_meta: dict) -> Tensor:
        """Of one image: its RoIs (K, 5) regressed by stage ``stage`` towards the best
        foreground class of ``cls_score`` (K, C + 1) → the next stage's RoIs (K, 5)."""
        if rois.shape[0] == 0:
            return rois
        bbox_head = self.bbox_head[stage]
        if bbox_head.custom_activation:
            cls_score = bbox_head.loss_cls.get_activation(cls_score)
        labels = cls_score[:, :-1].argmax(dim=1)
        return bbox_head.regress_by_class(rois, labels, bbox_pred, img_meta)

    def _empty_bbox_results(self, rois: Tensor, num_imgs: int,
                            rcnn_test_cfg) -> Union[Detections, RoICandidates]:
        if rcnn_test_cfg is None:
            scores = rois.new_zeros((0, self.bbox_head[-1].num_classes + 1))
            return RoICandidates([rois.new_zeros(0, 4)] * num_imgs, [scores] * num_imgs)
        return Detections([rois.new_zeros(0, 5)] * num_imgs,
                          [rois.new_zeros((0, ), dtype=torch.long)] * num_imgs)

    def _stage_mask_preds(self, x: List[Tensor], mask_rois: Tensor, **context) -> List[Tensor]:
        """Mask logits (P, C, h, w) of ``mask_rois`` (P, 5) from every stage."""
        return [self._mask_forward(stage, x, mask_rois)['mask_pred']
                for stage in range(self.num_stages)]

    def simple_test_mask(self, x: List[Tensor], img_metas: List[dict],
                         det_bboxes: List[Tensor], det_labels: List[Tensor],
                         rescale: bool = False, **context) -> List[List[List[np.ndarray]]]:
        """Per image ``segm_results[c]``: masks of the class-c detections from the mask
        probabilities averaged over the stages (boxes as :meth:`MaskTestMixin.simple_test_mask`
        takes them)."""
        num_classes = self._final_mask_head.num_classes
        num_imgs = len(det_bboxes)
        if all(det_bbox.shape[0] == 0 for det_bbox in det_bboxes):
            return [[[] for _ in range(num_classes)] for _ in range(num_imgs)]
        if not context:
            context = self._test_context(x)
        bboxes, scales = self._mask_test_boxes(img_metas, det_bboxes, rescale)
        num_per_img = [len(b) for b in bboxes]
        stage_probs = [pred.sigmoid().split(num_per_img, 0)
                       for pred in self._stage_mask_preds(x, bbox2roi(bboxes), **context)]
        mean_probs = [torch.stack([probs[i] for probs in stage_probs]).mean(dim=0).cpu().numpy()
                      for i in range(num_imgs)]
        return self._paste_masks(self._final_mask_head, mean_probs, bboxes, det_labels,
                                 img_metas, scales, rescale)

    def aug_test(self, x: List[List[Tensor]], proposal_list: List[Tensor],
                 img_metas: List[List[dict]], rescale: bool = False) -> list:
        """Results of one image under several augmentations (a list of one result): each
        augmentation runs the cascade, candidates are merged in the original frame, then NMS.
        Without ``rescale`` boxes are scaled to the first augmentation's frame."""
        det_bboxes, det_labels = self.aug_test_bboxes(x, img_metas, proposal_list,
                                                      self.test_cfg)
        if rescale:
            out_bboxes = det_bboxes
        else:
            out_bboxes = det_bboxes.clone()
            out_bboxes[:, :4] *= scale_factor_tensor(img_metas[0][0]['scale_factor'],
                                                     det_bboxes)
        bbox_results = bbox2result(out_bboxes, det_labels, self.bbox_head[-1].num_classes)
        if not self.with_mask:
            return [bbox_results]
        return [(bbox_results, self.aug_test_mask(x, img_metas, det_bboxes, det_labels))]

    def aug_test_mask(self, feats: List[List[Tensor]], img_metas: List[List[dict]],
                      det_bboxes: Tensor, det_labels: Tensor) -> List[List[np.ndarray]]:
        """Of one image: masks of ``det_bboxes`` (n, 5) (original frame), the probabilities
        averaged over augmentations and stages."""
        num_classes = self._final_mask_head.num_classes
        if det_bboxes.shape[0] == 0:
            return [[] for _ in range(num_classes)]
        aug_masks, aug_metas = [], []
        for x, img_meta in zip(feats, img_metas):
            meta = img_meta[0]
            bboxes = bbox_mapping(det_bboxes[:, :4], meta['img_shape'], meta['scale_factor'],
                                  meta['flip'], meta.get('flip_direction', 'horizontal'))
            for mask_pred in self._stage_mask_preds(x, bbox2roi([bboxes]),
                                                    **self._test_context(x)):
                aug_masks.append(mask_pred.sigmoid().cpu().numpy())
                aug_metas.append(img_meta)
        merged_masks = merge_aug_masks(aug_masks, aug_metas, self.test_cfg)
        return self._final_mask_head.get_seg_masks(
            merged_masks, det_bboxes, det_labels, self.test_cfg, img_metas[0][0]['ori_shape'],
            scale_factor=np.ones(4, np.float32), rescale=False)

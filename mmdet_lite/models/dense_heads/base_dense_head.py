"""BaseDenseHead: decoding of dense per-location predictions into detections (mmdet 2.x).

Shape shorthand:
    N: images in the batch          L: FPN levels
    A: anchors (priors) per location C: classification outputs per anchor (``cls_out_channels``)
    H_l, W_l: size of level l       P_l: H_l * W_l * A priors of level l
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from torch import Tensor

from ...core import batched_nms, filter_scores_and_topk, select_single_mlvl
from .dense_test_mixins import BBoxTestMixin


class BaseDenseHead(BaseModule, BBoxTestMixin, metaclass=ABCMeta):
    """Base class of dense heads: ``forward_train`` → ``loss``, ``simple_test`` → ``get_bboxes``.

    Subclasses define ``forward``, ``loss`` and own ``prior_generator``, ``bbox_coder``,
    ``cls_out_channels``, ``use_sigmoid_cls`` and ``test_cfg``.
    """

    def __init__(self, init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)

    @abstractmethod
    def loss(self, *args, **kwargs) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """The losses of the head's outputs against the ground truth."""

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   score_factors: Optional[Sequence[Tensor]] = None,
                   img_metas: Optional[List[dict]] = None, cfg: Optional[dict] = None,
                   rescale: bool = False, with_nms: bool = True) -> list:
        """Detections of each image.

        Args:
            cls_scores: L tensors (N, A * C, H_l, W_l).
            bbox_preds: L tensors (N, A * 4, H_l, W_l).
            score_factors: L tensors (N, A, H_l, W_l) multiplied into the scores, or None.
            img_metas: N meta dicts (``img_shape``, ``scale_factor``).
            cfg: test config (``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``); default
                ``self.test_cfg``.
            rescale: map the boxes back to the original image size.
            with_nms: False returns the per-class candidates before NMS.

        Returns:
            Per image ``(det_bboxes (n, 5), det_labels (n,))`` with NMS, else
            ``(bboxes (n, 4), scores (n,), labels (n,))``.
        """
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores but {len(bbox_preds)} '
                             'of bbox_preds')
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (img_shape, scale_factor per image)')
        with_score_factors = score_factors is not None
        num_levels = len(cls_scores)
        featmap_sizes = [cls_scores[i].shape[-2:] for i in range(num_levels)]
        mlvl_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device)
        result_list = []
        for img_id, img_meta in enumerate(img_metas):
            cls_score_list = select_single_mlvl(cls_scores, img_id)
            bbox_pred_list = select_single_mlvl(bbox_preds, img_id)
            if with_score_factors:
                score_factor_list = select_single_mlvl(score_factors, img_id)
            else:
                score_factor_list = [None] * num_levels
            result_list.append(self._get_bboxes_single(
                cls_score_list, bbox_pred_list, score_factor_list, mlvl_priors, img_meta, cfg,
                rescale=rescale, with_nms=with_nms))
        return result_list

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True) -> tuple:
        """Of one image: top ``nms_pre`` above ``score_thr`` per level, decode, then NMS.

        ``cls_score_list[l]`` (A * C, H_l, W_l), ``bbox_pred_list[l]`` (A * 4, H_l, W_l),
        ``mlvl_priors[l]`` (P_l, 4).
        """
        cfg = _as_config(self.test_cfg if cfg is None else cfg)
        with_score_factors = score_factor_list[0] is not None
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0.0)
        mlvl_bboxes, mlvl_scores, mlvl_labels, mlvl_score_factors = [], [], [], []
        for cls_score, bbox_pred, score_factor, priors in zip(
                cls_score_list, bbox_pred_list, score_factor_list, mlvl_priors):
            if cls_score.shape[-2:] != bbox_pred.shape[-2:]:
                raise ValueError(f'cls_score {tuple(cls_score.shape)} and bbox_pred '
                                 f'{tuple(bbox_pred.shape)} of one level differ in size')
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            if self.use_sigmoid_cls:
                scores = cls_score.sigmoid()
            else:
                # The last softmax column is the background class.
                scores = cls_score.softmax(-1)[:, :-1]
            # nms_pre <= 0 keeps every candidate (2.x would drop the last one).
            topk = nms_pre if nms_pre > 0 else scores.numel()
            scores, labels, keep_idxs, filtered = filter_scores_and_topk(
                scores, score_thr, topk, dict(bbox_pred=bbox_pred, priors=priors))
            bboxes = self.bbox_coder.decode(filtered['priors'], filtered['bbox_pred'],
                                            max_shape=img_shape)
            mlvl_bboxes.append(bboxes)
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
            if with_score_factors:
                factor = score_factor.permute(1, 2, 0).reshape(-1).sigmoid()
                mlvl_score_factors.append(factor[keep_idxs])
        return self._bbox_post_process(
            mlvl_scores, mlvl_labels, mlvl_bboxes, img_meta['scale_factor'], cfg,
            rescale=rescale, with_nms=with_nms,
            mlvl_score_factors=mlvl_score_factors if with_score_factors else None)

    def _bbox_post_process(self, mlvl_scores: List[Tensor], mlvl_labels: List[Tensor],
                           mlvl_bboxes: List[Tensor], scale_factor, cfg: ConfigDict,
                           rescale: bool = False, with_nms: bool = True,
                           mlvl_score_factors: Optional[List[Tensor]] = None) -> tuple:
        """Of one image: concatenate the levels, rescale, class-aware NMS, ``max_per_img``."""
        bboxes = torch.cat(mlvl_bboxes)
        if rescale:
            bboxes = bboxes / bboxes.new_tensor(_scale_factor_array(scale_factor))
        scores = torch.cat(mlvl_scores)
        labels = torch.cat(mlvl_labels)
        if mlvl_score_factors is not None:
            scores = scores * torch.cat(mlvl_score_factors)
        if not with_nms:
            return bboxes, scores, labels
        if bboxes.numel() == 0:
            return torch.cat([bboxes, scores[:, None]], -1), labels
        det_bboxes, keep = batched_nms(bboxes, scores, labels, cfg.nms)
        max_per_img = cfg.get('max_per_img', -1)
        if max_per_img is not None and max_per_img > 0:
            det_bboxes, keep = det_bboxes[:max_per_img], keep[:max_per_img]
        return det_bboxes, labels[keep]

    def forward_train(self, x: Sequence[Tensor], img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: Optional[List[Tensor]] = None,
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      proposal_cfg: Optional[dict] = None):
        """Losses of the features ``x`` (L tensors (N, C_in, H_l, W_l)).

        With ``proposal_cfg`` (two-stage RPN) also returns the proposals:
        ``(losses, proposal_list)``.
        """
        outs = self(x)
        if gt_labels is None:
            loss_inputs = outs + (gt_bboxes, img_metas)
        else:
            loss_inputs = outs + (gt_bboxes, gt_labels, img_metas)
        losses = self.loss(*loss_inputs, gt_bboxes_ignore=gt_bboxes_ignore)
        if proposal_cfg is None:
            return losses
        proposal_list = self.get_bboxes(*outs, img_metas=img_metas, cfg=proposal_cfg)
        return losses, proposal_list

    def simple_test(self, feats: Sequence[Tensor], img_metas: List[dict],
                    rescale: bool = False) -> List[Tuple[Tensor, Tensor]]:
        """Per image ``(det_bboxes (n, 5), det_labels (n,))`` without augmentation."""
        return self.simple_test_bboxes(feats, img_metas, rescale=rescale)


def _as_config(cfg) -> ConfigDict:
    if cfg is None:
        raise ValueError('the head has no test_cfg; give the detector a test_cfg (e.g. '
                         'test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, '
                         "nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))")
    return cfg if isinstance(cfg, ConfigDict) else ConfigDict(cfg)


def _scale_factor_array(scale_factor) -> list:
    """``[w, h, w, h]`` from an ndarray/list of 4 values or a single float."""
    if isinstance(scale_factor, (int, float)):
        return [float(scale_factor)] * 4
    values = [float(v) for v in scale_factor]
    if len(values) == 2:
        values = values * 2
    return values

"""BaseDenseHead: decoding of dense per-location predictions into detections (mmdet 2.x).

Shape shorthand:
    N: images in the batch          L: FPN levels
    A: anchors (priors) per location C: classification outputs per anchor (``cls_out_channels``)
    H_l, W_l: size of level l       P_l: H_l * W_l * A priors of level l
    n: candidates / detections of one image

Test-time anatomy (2.x names and signatures; a subclass overrides the step it changes)::

    get_bboxes(cls_scores, bbox_preds, score_factors=None, img_metas, cfg, rescale, with_nms)
      per image -> _get_bboxes_single(cls_score_list, bbox_pred_list, score_factor_list,
                                      mlvl_priors, img_meta, cfg, rescale, with_nms, **kwargs)
                   per level: scores, nms_pre / score_thr filter, decode, score factors
                -> _bbox_post_process(mlvl_scores, mlvl_labels, mlvl_bboxes, scale_factor, cfg,
                                      rescale, with_nms, mlvl_score_factors, **kwargs)
                   = _merge_candidates(...)            -> DenseCandidates (before NMS)
                     then, if with_nms, _nms_detections(candidates, cfg) -> Detections

``score_factors`` (FCOS's centerness, ATSS's / GFL's quality branch) are logits: they are
sigmoid-ed per level and multiplied into the class scores before NMS, as in 2.x.
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModule, constant_init
from torch import Tensor

from ...core import batched_nms, filter_scores_and_topk, select_single_mlvl
from ...core.bbox.scale_factor import scale_factor_tensor
from ...core.utils.config import as_config
from ..utils.results import DenseCandidates, Detections
from .dense_test_mixins import BBoxTestMixin


class BaseDenseHead(BaseModule, BBoxTestMixin, metaclass=ABCMeta):
    """Base class of dense heads: ``forward_train`` → ``loss``, ``simple_test`` → ``get_bboxes``.

    Subclasses define ``forward``, ``loss`` and own ``prior_generator``, ``bbox_coder``,
    ``cls_out_channels``, ``use_sigmoid_cls`` and ``test_cfg``.
    """

    def __init__(self, init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)

    def init_weights(self) -> None:
        """``init_cfg``, then zero every ``conv_offset`` (deformable convs start undeformed,
        whatever a layer-wide ``init_cfg`` did to them), as 2.x."""
        super().init_weights()
        for module in self.modules():
            if hasattr(module, 'conv_offset'):
                constant_init(module.conv_offset, 0)

    @abstractmethod
    def loss(self, *args, **kwargs) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """The losses of the head's outputs against the ground truth."""

    def resolve_test_cfg(self, cfg: Optional[dict] = None) -> ConfigDict:
        """``cfg``, or ``self.test_cfg`` when None, as a private ``ConfigDict`` copy."""
        cfg = as_config(self.test_cfg if cfg is None else cfg)
        if cfg is None:
            raise ValueError(
                f'{type(self).__name__} has no test_cfg; give the detector a test_cfg (e.g. '
                'test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, '
                "nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))")
        return cfg

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   score_factors: Optional[Sequence[Tensor]] = None,
                   img_metas: Optional[List[dict]] = None, cfg: Optional[dict] = None,
                   rescale: bool = False, with_nms: bool = True, **kwargs) -> list:
        """Detections (or candidates) of each image.

        Args:
            cls_scores: L tensors (N, A * C, H_l, W_l).
            bbox_preds: L tensors (N, A * 4, H_l, W_l).
            score_factors: L tensors (N, A, H_l, W_l) of logits whose sigmoid multiplies the
                scores (FCOS's centerness), or None.
            img_metas: N meta dicts (``img_shape``, ``scale_factor``).
            cfg: test config (``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``); default
                ``self.test_cfg``.
            rescale: map the boxes back to the original image size.
            with_nms: False returns the per-class candidates before NMS.
            kwargs: passed on to ``_get_bboxes_single`` (2.x subclasses' extra inputs).

        Returns:
            Per image ``Detections(det_bboxes (n, 5), det_labels (n,))`` with NMS, else
            ``DenseCandidates(bboxes (n, 4), scores (n,), labels (n,))``.
        """
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores but {len(bbox_preds)} '
                             'of bbox_preds')
        if score_factors is not None and len(score_factors) != len(cls_scores):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores but '
                             f'{len(score_factors)} of score_factors')
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (img_shape, scale_factor per image)')
        num_levels = len(cls_scores)
        featmap_sizes = [cls_scores[i].shape[-2:] for i in range(num_levels)]
        mlvl_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device)
        result_list = []
        for img_id, img_meta in enumerate(img_metas):
            cls_score_list = select_single_mlvl(cls_scores, img_id)
            bbox_pred_list = select_single_mlvl(bbox_preds, img_id)
            if score_factors is not None:
                score_factor_list = select_single_mlvl(score_factors, img_id)
            else:
                score_factor_list = [None] * num_levels
            result_list.append(self._get_bboxes_single(
                cls_score_list, bbox_pred_list, score_factor_list, mlvl_priors, img_meta, cfg,
                rescale, with_nms, **kwargs))
        return result_list

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs):
        """Of one image: top ``nms_pre`` above ``score_thr`` per level, decode, then
        :meth:`_bbox_post_process`.

        ``cls_score_list[l]`` (A * C, H_l, W_l), ``bbox_pred_list[l]`` (A * 4, H_l, W_l),
        ``score_factor_list[l]`` (A, H_l, W_l) or None, ``mlvl_priors[l]`` (P_l, 4) (or
        (P_l, 2) points, depending on the coder).
        """
        cfg = self.resolve_test_cfg(cfg)
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
            mlvl_scores, mlvl_labels, mlvl_bboxes, img_meta['scale_factor'], cfg, rescale,
            with_nms, mlvl_score_factors if with_score_factors else None, **kwargs)

    def _bbox_post_process(self, mlvl_scores: List[Tensor], mlvl_labels: List[Tensor],
                           mlvl_bboxes: List[Tensor], scale_factor, cfg: ConfigDict,
                           rescale: bool = False, with_nms: bool = True,
                           mlvl_score_factors: Optional[List[Tensor]] = None,
                           **kwargs) -> Union[Detections, DenseCandidates]:
        """Of one image: :meth:`_merge_candidates`, then :meth:`_nms_detections` if
        ``with_nms`` (2.x's switch between the two results)."""
        candidates = self._merge_candidates(mlvl_scores, mlvl_labels, mlvl_bboxes, scale_factor,
                                            rescale, mlvl_score_factors)
        if not with_nms:
            return candidates
        return self._nms_detections(candidates, cfg)

    def _merge_candidates(self, mlvl_scores: List[Tensor], mlvl_labels: List[Tensor],
                          mlvl_bboxes: List[Tensor], scale_factor, rescale: bool = False,
                          mlvl_score_factors: Optional[List[Tensor]] = None) -> DenseCandidates:
        """Of one image: the levels' candidates concatenated, boxes divided by ``scale_factor``
        if ``rescale``, scores multiplied by the score factors if given."""
        bboxes = torch.cat(mlvl_bboxes)
        if rescale:
            bboxes = bboxes / scale_factor_tensor(scale_factor, bboxes)
        scores = torch.cat(mlvl_scores)
        labels = torch.cat(mlvl_labels)
        if mlvl_score_factors is not None:
            scores = scores * torch.cat(mlvl_score_factors)
        return DenseCandidates(bboxes, scores, labels)

    def _nms_detections(self, candidates: DenseCandidates, cfg: ConfigDict) -> Detections:
        """Of one image: class-aware NMS (``cfg.nms``) of the candidates, the best
        ``cfg.max_per_img`` kept (all when it is missing or <= 0)."""
        bboxes, scores, labels = candidates
        if bboxes.numel() == 0:
            return Detections(torch.cat([bboxes, scores[:, None]], -1), labels)
        det_bboxes, keep = batched_nms(bboxes, scores, labels, cfg.nms)
        max_per_img = cfg.get('max_per_img', -1)
        if max_per_img is not None and max_per_img > 0:
            det_bboxes, keep = det_bboxes[:max_per_img], keep[:max_per_img]
        return Detections(det_bboxes, labels[keep])

    def forward_train(self, x: Sequence[Tensor], img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: Optional[List[Tensor]] = None,
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      proposal_cfg: Optional[dict] = None, **kwargs):
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
                    rescale: bool = False) -> List[Detections]:
        """Per image ``Detections(det_bboxes (n, 5), det_labels (n,))`` without augmentation."""
        return self.simple_test_bboxes(feats, img_metas, rescale=rescale)

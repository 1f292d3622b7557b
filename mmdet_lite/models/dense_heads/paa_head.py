"""PAAHead: probabilistic anchor assignment (Kim and Lee, "Probabilistic Anchor Assignment with
IoU Prediction for Object Detection", 2020): the candidates of each ground truth (loose IoU
matches, best ``topk`` per level by loss) are split into positives and negatives by a
two-Gaussian fit of their losses; an IoU branch scores the boxes; score voting refines them.

Shape shorthand:
    N: images in the batch     L: FPN levels     A: anchors per location     C: classes
    H_l, W_l: size of level l  P = sum_l H_l * W_l * A anchors of one image
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ...core import bbox_overlaps, multi_apply, multiclass_nms
from ...core.bbox.scale_factor import scale_factor_tensor
from ..builder import HEADS
from ..utils.results import Detections
from .anchor_head import AnchorHead
from .atss_head import ATSSHead
from .paa_gmm import fit_two_gaussians

EPS = 1e-12


def levels_to_images(mlvl_tensor: Sequence[Tensor]) -> List[Tensor]:
    """L tensors (N, c, H_l, W_l) → N tensors (sum_l H_l * W_l, c), level-major."""
    batch_size = mlvl_tensor[0].size(0)
    channels = mlvl_tensor[0].size(1)
    per_image = [[] for _ in range(batch_size)]
    for t in mlvl_tensor:
        t = t.permute(0, 2, 3, 1).reshape(batch_size, -1, channels)
        for img in range(batch_size):
            per_image[img].append(t[img])
    return [torch.cat(item, 0) for item in per_image]


@HEADS.register_module()
class PAAHead(ATSSHead):
    """ATSSHead's layers (``atss_centerness`` predicts the IoU) with PAA's assignment.

    Args:
        topk: candidates kept per ground truth and level before the Gaussian fit.
        score_voting: replace each detection's box by the IoU- and score-weighted mean of the
            candidates overlapping it.
        covariance_type: of the two-Gaussian fit ('full', 'diag', 'spherical', 'tied').
        Other arguments: :class:`ATSSHead` (its ``loss_centerness`` is the IoU branch's loss,
        reported as ``loss_iou``).
    """

    def __init__(self, *args, topk: int = 9, score_voting: bool = True,
                 covariance_type: str = 'diag', **kwargs):
        self.topk = topk
        self.with_score_voting = score_voting
        self.covariance_type = covariance_type
        super().__init__(*args, **kwargs)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], iou_preds: List[Tensor],
             gt_bboxes: List[Tensor], gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``loss_cls``, ``loss_bbox`` (weighted by the IoU) and ``loss_iou`` after the
        probabilistic reassignment."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        self._check_levels(featmap_sizes)
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        (labels, labels_weight, bboxes_target, bboxes_weight, pos_inds,
         pos_gt_index) = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                          gt_bboxes_ignore_list=gt_bboxes_ignore,
                                          gt_labels_list=gt_labels)
        cls_scores = [s.reshape(-1, self.cls_out_channels) for s in levels_to_images(cls_scores)]
        bbox_preds = [b.reshape(-1, 4) for b in levels_to_images(bbox_preds)]
        iou_preds = [p.reshape(-1, 1) for p in levels_to_images(iou_preds)]
        pos_losses_list, = multi_apply(self.get_pos_loss, anchor_list, cls_scores, bbox_preds,
                                       labels, labels_weight, bboxes_target, bboxes_weight,
                                       pos_inds)
        with torch.no_grad():
            (reassign_labels, reassign_label_weight, _, num_pos) = multi_apply(
                self.paa_reassign, pos_losses_list, labels, labels_weight, bboxes_weight,
                pos_inds, pos_gt_index, anchor_list)
            num_pos = sum(num_pos)
        cls_scores = torch.cat(cls_scores, 0)
        bbox_preds = torch.cat(bbox_preds, 0)
        iou_preds = torch.cat(iou_preds, 0)
        labels = torch.cat(reassign_labels, 0).view(-1)
        flat_anchors = torch.cat([torch.cat(item, 0) for item in anchor_list])
        labels_weight = torch.cat(reassign_label_weight, 0).view(-1)
        bboxes_target = torch.cat(bboxes_target, 0).view(-1, 4)
        pos_inds_flat = ((labels >= 0) & (labels < self.num_classes)).nonzero().reshape(-1)
        losses_cls = self.loss_cls(cls_scores, labels, labels_weight,
                                   avg_factor=max(num_pos, len(img_metas)))
        if num_pos:
            pos_bbox_pred = self.bbox_coder.decode(flat_anchors[pos_inds_flat],
                                                   bbox_preds[pos_inds_flat])
            pos_bbox_target = bboxes_target[pos_inds_flat]
            iou_target = bbox_overlaps(pos_bbox_pred.detach(), pos_bbox_target,
                                       is_aligned=True)
            losses_iou = self.loss_centerness(iou_preds[pos_inds_flat],
                                              iou_target.unsqueeze(-1), avg_factor=num_pos)
            losses_bbox = self.loss_bbox(pos_bbox_pred, pos_bbox_target,
                                         iou_target.clamp(min=EPS), avg_factor=iou_target.sum())
        else:
            losses_iou = iou_preds.sum() * 0
            losses_bbox = bbox_preds.sum() * 0
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox, loss_iou=losses_iou)

    def get_pos_loss(self, anchors: List[Tensor], cls_score: Tensor, bbox_pred: Tensor,
                     label: Tensor, label_weight: Tensor, bbox_target: Tensor,
                     bbox_weight: Tensor, pos_inds: Tensor) -> Tuple[Tensor]:
        """Of one image: the classification + box loss (n_pos,) of each candidate, without
        reduction."""
        if not len(pos_inds):
            return cls_score.new_zeros((0,)),
        pos_anchors = torch.cat(anchors, 0)[pos_inds]
        pos_bbox_pred = self.bbox_coder.decode(pos_anchors, bbox_pred[pos_inds])
        loss_cls = self.loss_cls(cls_score[pos_inds], label[pos_inds], label_weight[pos_inds],
                                 avg_factor=1.0, reduction_override='none')
        loss_bbox = self.loss_bbox(pos_bbox_pred, bbox_target[pos_inds], bbox_weight[pos_inds],
                                   avg_factor=1.0, reduction_override='none')
        return loss_bbox + loss_cls.sum(-1),

    def paa_reassign(self, pos_losses: Tensor, label: Tensor, label_weight: Tensor,
                     bbox_weight: Tensor, pos_inds: Tensor, pos_gt_inds: Tensor,
                     anchors: List[Tensor]) -> tuple:
        """Of one image: per ground truth, the ``topk`` lowest-loss candidates of each level
        are split by the two-Gaussian fit; those after the best-scoring one of the low-loss
        component become negatives.

        Returns the new labels (P,), label weights (P,), bbox weights (P, 4) and the number of
        positives left.
        """
        if not len(pos_inds):
            return label, label_weight, bbox_weight, 0
        label = label.clone()
        label_weight = label_weight.clone()
        bbox_weight = bbox_weight.clone()
        num_gt = pos_gt_inds.max() + 1
        bounds = np.cumsum([0] + [item.size(0) for item in anchors])
        pos_level_mask = [(pos_inds >= bounds[i]) & (pos_inds < bounds[i + 1])
                          for i in range(len(anchors))]
        pos_inds_after_paa = [label.new_tensor([])]
        ignore_inds_after_paa = [label.new_tensor([])]
        for gt_ind in range(num_gt):
            pos_inds_gmm, pos_loss_gmm = [], []
            gt_mask = pos_gt_inds == gt_ind
            for level_mask in pos_level_mask:
                level_gt_mask = level_mask & gt_mask
                value, topk_inds = pos_losses[level_gt_mask].topk(
                    min(int(level_gt_mask.sum()), self.topk), largest=False)
                pos_inds_gmm.append(pos_inds[level_gt_mask][topk_inds])
                pos_loss_gmm.append(value)
            pos_inds_gmm = torch.cat(pos_inds_gmm)
            pos_loss_gmm = torch.cat(pos_loss_gmm)
            if len(pos_inds_gmm) < 2:
                continue
            pos_loss_gmm, sort_inds = pos_loss_gmm.sort()
            pos_inds_gmm = pos_inds_gmm[sort_inds]
            assignment, scores = fit_two_gaussians(pos_loss_gmm, self.covariance_type)
            pos_inds_temp, ignore_inds_temp = self.gmm_separation_scheme(
                assignment.to(pos_inds_gmm.device), scores.to(pos_inds_gmm.device),
                pos_inds_gmm)
            pos_inds_after_paa.append(pos_inds_temp)
            ignore_inds_after_paa.append(ignore_inds_temp)
        pos_inds_after_paa = torch.cat(pos_inds_after_paa)
        ignore_inds_after_paa = torch.cat(ignore_inds_after_paa).long()
        reassign_mask = (pos_inds.unsqueeze(1) != pos_inds_after_paa).all(1)
        reassign_ids = pos_inds[reassign_mask]
        label[reassign_ids] = self.num_classes
        label_weight[ignore_inds_after_paa] = 0
        bbox_weight[reassign_ids] = 0
        return label, label_weight, bbox_weight, len(pos_inds_after_paa)

    def gmm_separation_scheme(self, gmm_assignment: Tensor, scores: Tensor,
                              pos_inds_gmm: Tensor) -> Tuple[Tensor, Tensor]:
        """Positives: the candidates of the low-loss component (0), sorted by loss, up to its
        most likely one; none ignored."""
        fgs = gmm_assignment == 0
        pos_inds_temp = fgs.new_tensor([], dtype=torch.long)
        ignore_inds_temp = fgs.new_tensor([], dtype=torch.long)
        if fgs.nonzero().numel():
            _, pos_thr_ind = scores[fgs].topk(1)
            pos_inds_temp = pos_inds_gmm[fgs][:pos_thr_ind + 1]
            ignore_inds_temp = pos_inds_gmm.new_tensor([])
        return pos_inds_temp, ignore_inds_temp

    def get_targets(self, anchor_list: List[List[Tensor]], valid_flag_list: List[List[Tensor]],
                    gt_bboxes_list: List[Tensor], img_metas: List[dict],
                    gt_bboxes_ignore_list: Optional[List[Tensor]] = None,
                    gt_labels_list: Optional[List[Tensor]] = None, label_channels: int = 1,
                    unmap_outputs: bool = True) -> tuple:
        """Per image (not per level): labels (P,), label_weights (P,), bbox_targets (P, 4),
        bbox_weights (P, 4), the candidates' indices and their ground-truth indices."""
        if not unmap_outputs:
            raise ValueError('PAAHead.get_targets needs unmap_outputs=True: the reassignment '
                             'indexes all anchors')
        num_imgs = len(img_metas)
        if not len(anchor_list) == len(valid_flag_list) == num_imgs:
            raise ValueError(f'{num_imgs} img_metas but {len(anchor_list)} anchor lists')
        concat_anchors = [torch.cat(anchors) for anchors in anchor_list]
        concat_flags = [torch.cat(flags) for flags in valid_flag_list]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        (labels, label_weights, bbox_targets, bbox_weights, _, _,
         sampling_results) = multi_apply(
             self._get_targets_single, concat_anchors, concat_flags, gt_bboxes_list,
             gt_bboxes_ignore_list, gt_labels_list, img_metas, label_channels=1,
             unmap_outputs=True)
        pos_inds = [((0 <= single) & (single < self.num_classes)).nonzero().view(-1)
                    for single in labels]
        gt_inds = [item.pos_assigned_gt_inds for item in sampling_results]
        return labels, label_weights, bbox_targets, bbox_weights, pos_inds, gt_inds

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor, gt_bboxes: Tensor,
                            gt_bboxes_ignore: Optional[Tensor], gt_labels: Optional[Tensor],
                            img_meta: dict, label_channels: int = 1, unmap_outputs: bool = True):
        """Of one image: ``AnchorHead``'s targets (the assigner is plain, not level-aware)."""
        return AnchorHead._get_targets_single(self, flat_anchors, valid_flags, gt_bboxes,
                                              gt_bboxes_ignore, gt_labels, img_meta,
                                              label_channels=1, unmap_outputs=True)

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   score_factors: Optional[Sequence[Tensor]] = None,
                   img_metas: Optional[List[dict]] = None, cfg: Optional[dict] = None,
                   rescale: bool = False, with_nms: bool = True, **kwargs) -> list:
        """Per image ``Detections``; PAA's score voting needs NMS, so ``with_nms=False`` (and
        test-time augmentation, which asks for candidates) is refused."""
        if not with_nms:
            raise ValueError('PAAHead only returns detections after NMS (with_nms=True): its '
                             'score voting needs them, so it cannot merge test-time '
                             'augmentations; drop flip/multi-scale from the test pipeline')
        return super().get_bboxes(cls_scores, bbox_preds, score_factors, img_metas, cfg,
                                  rescale, with_nms, **kwargs)

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Tensor], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs) -> Detections:
        """Of one image: per level the top ``nms_pre`` by sqrt(score * IoU prediction), then
        :meth:`_bbox_post_process`."""
        cfg = self.resolve_test_cfg(cfg)
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        mlvl_bboxes, mlvl_scores, mlvl_score_factors = [], [], []
        for cls_score, bbox_pred, score_factor, priors in zip(
                cls_score_list, bbox_pred_list, score_factor_list, mlvl_priors):
            scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            score_factor = score_factor.permute(1, 2, 0).reshape(-1).sigmoid()
            if 0 < nms_pre < scores.shape[0]:
                max_scores, _ = (scores * score_factor[:, None]).sqrt().max(dim=1)
                _, topk_inds = max_scores.topk(nms_pre)
                priors = priors[topk_inds, :]
                bbox_pred = bbox_pred[topk_inds, :]
                scores = scores[topk_inds, :]
                score_factor = score_factor[topk_inds]
            mlvl_bboxes.append(self.bbox_coder.decode(priors, bbox_pred, max_shape=img_shape))
            mlvl_scores.append(scores)
            mlvl_score_factors.append(score_factor)
        return self._bbox_post_process(mlvl_scores, mlvl_bboxes, img_meta['scale_factor'], cfg,
                                       rescale, with_nms, mlvl_score_factors, **kwargs)

    def _bbox_post_process(self, mlvl_scores: List[Tensor], mlvl_bboxes: List[Tensor],
                           scale_factor, cfg, rescale: bool = False, with_nms: bool = True,
                           mlvl_score_factors: Optional[List[Tensor]] = None,
                           **kwargs) -> Detections:
        """Of one image: class-wise NMS on sqrt(score * IoU prediction), then score voting.
        (PAA's own signature, as 2.x: no labels, the scores are per class.)"""
        mlvl_bboxes = torch.cat(mlvl_bboxes)
        if rescale:
            mlvl_bboxes = mlvl_bboxes / scale_factor_tensor(scale_factor, mlvl_bboxes)
        mlvl_scores = torch.cat(mlvl_scores)
        # multiclass_nms takes a background column last.
        mlvl_scores = torch.cat([mlvl_scores, mlvl_scores.new_zeros(mlvl_scores.shape[0], 1)],
                                dim=1)
        mlvl_nms_scores = (mlvl_scores * torch.cat(mlvl_score_factors)[:, None]).sqrt()
        det_bboxes, det_labels = multiclass_nms(mlvl_bboxes, mlvl_nms_scores, cfg.score_thr,
                                                cfg.nms, cfg.max_per_img, score_factors=None)
        if self.with_score_voting and len(det_bboxes) > 0:
            det_bboxes, det_labels = self.score_voting(det_bboxes, det_labels, mlvl_bboxes,
                                                       mlvl_nms_scores, cfg.score_thr)
        return Detections(det_bboxes, det_labels)

    def score_voting(self, det_bboxes: Tensor, det_labels: Tensor, mlvl_bboxes: Tensor,
                     mlvl_nms_scores: Tensor, score_thr: float) -> Tuple[Tensor, Tensor]:
        """Each detection's box becomes the mean of the same-class candidates (above
        ``score_thr``) overlapping it, weighted by exp(-(1 - IoU)^2 / 0.025) * score; the
        detections come out grouped by class."""
        candidate_mask = mlvl_nms_scores > score_thr
        candidate_nonzeros = candidate_mask.nonzero(as_tuple=False)
        candidate_inds = candidate_nonzeros[:, 0]
        candidate_labels = candidate_nonzeros[:, 1]
        candidate_bboxes = mlvl_bboxes[candidate_inds]
        candidate_scores = mlvl_nms_scores[candidate_mask]
        det_bboxes_voted, det_labels_voted = [], []
        for cls in range(self.cls_out_channels):
            candidate_cls_mask = candidate_labels == cls
            if not candidate_cls_mask.any():
                continue
            cls_scores = candidate_scores[candidate_cls_mask]
            cls_bboxes = candidate_bboxes[candidate_cls_mask]
            det_cls_bboxes = det_bboxes[det_labels == cls].view(-1, det_bboxes.size(-1))
            det_candidate_ious = bbox_overlaps(det_cls_bboxes[:, :4], cls_bboxes)
            for det_ind in range(len(det_cls_bboxes)):
                ious = det_candidate_ious[det_ind]
                pos_mask = ious > 0.01
                pis = (torch.exp(-(1 - ious[pos_mask]) ** 2 / 0.025)
                       * cls_scores[pos_mask])[:, None]
                voted_box = torch.sum(pis * cls_bboxes[pos_mask], dim=0) / torch.sum(pis, dim=0)
                voted_score = det_cls_bboxes[det_ind][-1:][None, :]
                det_bboxes_voted.append(torch.cat((voted_box[None, :], voted_score), dim=1))
                det_labels_voted.append(cls)
        return torch.cat(det_bboxes_voted, dim=0), det_labels.new_tensor(det_labels_voted)

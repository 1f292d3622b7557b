"""FreeAnchorRetinaHead: RetinaNet trained by anchor "bags" (Zhang et al., "FreeAnchor: Learning
to Match Anchors for Visual Object Detection", 2019): each object picks from its
``pre_anchor_topk`` best-overlapping anchors through a mean-max of their joint class-and-box
likelihood; every anchor's score is pushed down unless its predicted box covers an object.

Shape shorthand:
    N: images in the batch     P: anchors of one image (all levels)     C: classes (sigmoid)
    k: objects of one image    K: ``pre_anchor_topk``
"""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ...core import bbox_overlaps
from ..builder import HEADS
from .retina_head import RetinaHead

EPS = 1e-12


@HEADS.register_module()
class FreeAnchorRetinaHead(RetinaHead):
    """RetinaHead's layers and test path; FreeAnchor's losses.

    Args:
        pre_anchor_topk: K, the anchors in each object's bag.
        bbox_thr: predicted boxes below this IoU with an object count as not covering it.
        gamma / alpha: focal exponent of the negative bag loss and the positive/negative
            balance.
        Other arguments: :class:`RetinaHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 pre_anchor_topk: int = 50, bbox_thr: float = 0.6, gamma: float = 2.0,
                 alpha: float = 0.5, **kwargs):
        super().__init__(num_classes, in_channels, stacked_convs, conv_cfg, norm_cfg, **kwargs)
        self.pre_anchor_topk = pre_anchor_topk
        self.bbox_thr = bbox_thr
        self.gamma = gamma
        self.alpha = alpha

    def _box_prob(self, anchors: Tensor, gt_labels: Tensor, gt_bboxes: Tensor,
                  bbox_preds: Tensor) -> Tensor:
        """Of one image: (P, C) how surely each anchor's predicted box covers an object of each
        class: its IoU with the object rescaled from ``bbox_thr`` (0) to the object's best IoU
        (1), the max over the class's objects."""
        box_prob = bbox_preds.new_zeros(anchors.size(0), self.cls_out_channels)
        if len(gt_bboxes) == 0:
            return box_prob
        pred_boxes = self.bbox_coder.decode(anchors, bbox_preds)
        object_box_iou = bbox_overlaps(gt_bboxes, pred_boxes)
        t1 = self.bbox_thr
        t2 = object_box_iou.max(dim=1, keepdim=True).values.clamp(min=t1 + 1e-12)
        object_box_prob = ((object_box_iou - t1) / (t2 - t1)).clamp(min=0, max=1)
        index = gt_labels[:, None].expand_as(object_box_prob)
        return box_prob.t().scatter_reduce(0, index, object_box_prob, 'amax').t()

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, Tensor]:
        """``positive_bag_loss`` (per object) and ``negative_bag_loss`` (per anchor and class,
        averaged over K per object)."""
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels} strides')
        device = cls_scores[0].device
        anchor_list, _ = self.get_anchors(featmap_sizes, img_metas, device=device)
        anchors = [torch.cat(anchor) for anchor in anchor_list]
        cls_scores = torch.cat([s.permute(0, 2, 3, 1).reshape(s.size(0), -1,
                                                              self.cls_out_channels)
                                for s in cls_scores], dim=1)
        bbox_preds = torch.cat([b.permute(0, 2, 3, 1).reshape(b.size(0), -1, 4)
                                for b in bbox_preds], dim=1)
        cls_prob = torch.sigmoid(cls_scores)
        box_prob = []
        num_pos = 0
        positive_losses = []
        for anchors_, gt_labels_, gt_bboxes_, cls_prob_, bbox_preds_ in zip(
                anchors, gt_labels, gt_bboxes, cls_prob, bbox_preds):
            with torch.no_grad():
                box_prob.append(self._box_prob(anchors_, gt_labels_, gt_bboxes_, bbox_preds_))
            # the bag of each object: its K best-overlapping anchors
            _, matched = torch.topk(bbox_overlaps(gt_bboxes_, anchors_), self.pre_anchor_topk,
                                    dim=1, sorted=False)
            matched_cls_prob = torch.gather(
                cls_prob_[matched], 2,
                gt_labels_.view(-1, 1, 1).repeat(1, self.pre_anchor_topk, 1)).squeeze(2)
            matched_anchors = anchors_[matched]
            matched_object_targets = self.bbox_coder.encode(
                matched_anchors, gt_bboxes_.unsqueeze(dim=1).expand_as(matched_anchors))
            loss_bbox = self.loss_bbox(bbox_preds_[matched], matched_object_targets,
                                       reduction_override='none').sum(-1)
            matched_box_prob = torch.exp(-loss_bbox)
            num_pos += len(gt_bboxes_)
            positive_losses.append(self.positive_bag_loss(matched_cls_prob, matched_box_prob))
        positive_loss = torch.cat(positive_losses).sum() / max(1, num_pos)
        negative_loss = self.negative_bag_loss(cls_prob, torch.stack(box_prob, dim=0)).sum() / \
            max(1, num_pos * self.pre_anchor_topk)
        if num_pos == 0:
            positive_loss = bbox_preds.sum() * 0
        return dict(positive_bag_loss=positive_loss, negative_bag_loss=negative_loss)

    def positive_bag_loss(self, matched_cls_prob: Tensor, matched_box_prob: Tensor) -> Tensor:
        """(k, K) class and box likelihoods of each object's bag → (k,) losses of the bags'
        mean-max likelihood."""
        matched_prob = matched_cls_prob * matched_box_prob
        weight = 1 / torch.clamp(1 - matched_prob, 1e-12, None)
        weight = weight / weight.sum(dim=1).unsqueeze(dim=-1)
        bag_prob = (weight * matched_prob).sum(dim=1)
        return self.alpha * F.binary_cross_entropy(bag_prob, torch.ones_like(bag_prob),
                                                   reduction='none')

    def negative_bag_loss(self, cls_prob: Tensor, box_prob: Tensor) -> Tensor:
        """(N, P, C) focal-weighted background loss of the scores not explained by a covered
        object."""
        prob = (cls_prob * (1 - box_prob)).clamp(min=EPS, max=1 - EPS)
        negative_bag_loss = prob ** self.gamma * F.binary_cross_entropy(
            prob, torch.zeros_like(prob), reduction='none')
        return (1 - self.alpha) * negative_bag_loss

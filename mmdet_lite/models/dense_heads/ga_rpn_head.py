"""GARPNHead: guided anchoring as a region proposal network (GA-RPN, mmdetection 2.x).

Shape shorthand: ``N`` images, ``L`` levels, ``H_l x W_l`` a level's size, ``k_l`` the guided
anchors kept on level l, ``n`` proposals.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...core import nms
from ..builder import HEADS
from .guided_anchor_head import GuidedAnchorHead


@HEADS.register_module()
class GARPNHead(GuidedAnchorHead):
    """A 3x3 ``rpn_conv`` + ReLU, then :class:`GuidedAnchorHead` with one (object) class.

    Test config keys: ``nms_pre`` (per level), ``min_bbox_size``, ``nms`` (plain NMS per
    level), ``nms_post`` (kept per level after it), ``max_per_img``, optional
    ``nms_across_levels``.
    """

    def __init__(self, in_channels: int,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01,
                            override=dict(type='Normal', name='conv_loc', std=0.01,
                                          bias_prob=0.01))
        super().__init__(1, in_channels, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self.rpn_conv = nn.Conv2d(self.in_channels, self.feat_channels, 3, padding=1)
        super()._init_layers()

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) -> objectness (N, 1, H, W), deltas (N, 4, H, W),
        shape (N, 2, H, W), location (N, 1, H, W)."""
        x = F.relu(self.rpn_conv(x), inplace=True)
        return super().forward_single(x)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],  # type: ignore[override]
             shape_preds: List[Tensor], loc_preds: List[Tensor], gt_bboxes: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """``loss_rpn_cls``, ``loss_rpn_bbox``, ``loss_anchor_shape``, ``loss_anchor_loc`` per
        level; GT labels are not used."""
        losses = super().loss(cls_scores, bbox_preds, shape_preds, loc_preds, gt_bboxes, None,
                              img_metas, gt_bboxes_ignore=gt_bboxes_ignore)
        return dict(loss_rpn_cls=losses['loss_cls'], loss_rpn_bbox=losses['loss_bbox'],
                    loss_anchor_shape=losses['loss_shape'], loss_anchor_loc=losses['loss_loc'])

    def _get_bboxes_single(self, cls_scores: List[Tensor],  # type: ignore[override]
                           bbox_preds: List[Tensor], mlvl_anchors: List[Tensor],
                           mlvl_masks: List[Tensor], img_shape: Sequence[int], scale_factor,
                           cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True) -> Tensor:
        """Of one image: proposals (n, 5) at the network-input scale.

        Per level: the kept locations' ``nms_pre`` best, decoded, boxes not larger than
        ``min_bbox_size`` dropped, NMS, the ``nms_post`` best; then across levels either NMS
        (``nms_across_levels``) or the ``max_per_img`` best. ``scale_factor``, ``rescale`` and
        ``with_nms`` are ignored, as for ``RPNHead`` (proposals are always NMS-ed).
        """
        cfg = self.resolve_test_cfg(cfg)
        nms_cfg = cfg.get('nms')
        if nms_cfg is None or nms_cfg.get('type', 'nms') != 'nms':
            raise ValueError(f"GARPNHead needs test_cfg.nms=dict(type='nms', iou_threshold=...) "
                             f'(plain NMS only, as 2.x), got {nms_cfg}')
        iou_threshold = nms_cfg['iou_threshold']
        nms_pre = cfg.get('nms_pre', -1)
        min_bbox_size = cfg.get('min_bbox_size', -1)
        nms_post = cfg.get('nms_post', cfg.get('max_per_img', -1))
        mlvl_proposals = []
        for level, (rpn_cls_score, rpn_bbox_pred, anchors, mask) in enumerate(
                zip(cls_scores, bbox_preds, mlvl_anchors, mlvl_masks)):
            if rpn_cls_score.shape[-2:] != rpn_bbox_pred.shape[-2:]:
                raise ValueError(f'objectness {tuple(rpn_cls_score.shape)} and deltas '
                                 f'{tuple(rpn_bbox_pred.shape)} of level {level} differ')
            if not mask.any():
                continue
            rpn_cls_score = rpn_cls_score.permute(1, 2, 0)
            if self.use_sigmoid_cls:
                scores = rpn_cls_score.reshape(-1).sigmoid()
            else:
                # Softmax over (foreground, background): column 0 is the foreground.
                scores = rpn_cls_score.reshape(-1, 2).softmax(dim=1)[:, 0]
            scores = scores[mask]
            rpn_bbox_pred = rpn_bbox_pred.permute(1, 2, 0).reshape(-1, 4)[mask]
            if 0 < nms_pre < scores.shape[0]:
                _, topk_inds = scores.topk(nms_pre)
                rpn_bbox_pred, anchors, scores = (rpn_bbox_pred[topk_inds], anchors[topk_inds],
                                                  scores[topk_inds])
            proposals = self.bbox_coder.decode(anchors, rpn_bbox_pred, max_shape=img_shape)
            if min_bbox_size >= 0:
                w = proposals[:, 2] - proposals[:, 0]
                h = proposals[:, 3] - proposals[:, 1]
                valid = (w > min_bbox_size) & (h > min_bbox_size)
                if not valid.all():
                    proposals, scores = proposals[valid], scores[valid]
            proposals, _ = nms(proposals, scores, iou_threshold)
            if nms_post > 0:
                proposals = proposals[:nms_post]
            mlvl_proposals.append(proposals)
        if not mlvl_proposals:
            return cls_scores[0].new_zeros(0, 5)
        proposals = torch.cat(mlvl_proposals, 0)
        max_per_img = cfg.get('max_per_img', -1)
        if cfg.get('nms_across_levels', False):
            proposals, _ = nms(proposals[:, :4], proposals[:, -1], iou_threshold)
            return proposals[:max_per_img] if max_per_img > 0 else proposals
        num = proposals.shape[0] if max_per_img <= 0 else min(max_per_img, proposals.shape[0])
        _, topk_inds = proposals[:, 4].topk(num)
        return proposals[topk_inds]

"""RPNHead: class-agnostic objectness and box deltas on every FPN level (mmdet 2.x).

Shape shorthand:
    N: images in the batch           L: FPN levels
    A: anchors per location          C: objectness outputs per anchor (1 with sigmoid, 2 softmax)
    H_l, W_l: size of level l        P_l = H_l * W_l * A anchors of level l
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from torch import Tensor, nn

from ...core import batched_nms, sorted_topk
from ..builder import HEADS
from ..utils.conv_module import ConvModule
from .anchor_head import AnchorHead


@HEADS.register_module()
class RPNHead(AnchorHead):
    """Region proposal head: a 3x3 conv (``rpn_conv``) then 1x1 ``rpn_cls`` / ``rpn_reg``.

    Args:
        in_channels: input channels.
        num_convs: 3x3 convs before the predictors (>1 uses ``ConvModule``s in a Sequential).
        Others: as ``AnchorHead`` (``num_classes`` is fixed to 1).
    """

    def __init__(self, in_channels: int, feat_channels: int = 256, num_convs: int = 1,
                 anchor_generator: Optional[dict] = None, bbox_coder: Optional[dict] = None,
                 reg_decoded_bbox: bool = False, loss_cls: Optional[dict] = None,
                 loss_bbox: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        self.num_convs = num_convs
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Conv2d', std=0.01)
        super().__init__(1, in_channels, feat_channels=feat_channels,
                         anchor_generator=anchor_generator, bbox_coder=bbox_coder,
                         reg_decoded_bbox=reg_decoded_bbox, loss_cls=loss_cls,
                         loss_bbox=loss_bbox, train_cfg=train_cfg, test_cfg=test_cfg,
                         init_cfg=init_cfg)

    def _init_layers(self) -> None:
        if self.num_convs > 1:
            convs = []
            for i in range(self.num_convs):
                in_channels = self.in_channels if i == 0 else self.feat_channels
                # The last ReLU is applied in forward_single, as for num_convs=1.
                convs.append(ConvModule(in_channels, self.feat_channels, 3, padding=1,
                                        inplace=False))
            self.rpn_conv = nn.Sequential(*convs)
        else:
            self.rpn_conv = nn.Conv2d(self.in_channels, self.feat_channels, 3, padding=1)
        self.rpn_cls = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → objectness (N, A * C, H, W), deltas (N, A * 4, H, W)."""
        # 2.x's out-of-place ReLU when training; in place at test time (one map less).
        x = F.relu(self.rpn_conv(x), inplace=not torch.is_grad_enabled())
        return self.rpn_cls(x), self.rpn_reg(x)

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-level ``loss_rpn_cls`` / ``loss_rpn_bbox``; GT labels are not used."""
        losses = super().loss(cls_scores, bbox_preds, gt_bboxes, None, img_metas,
                              gt_bboxes_ignore=gt_bboxes_ignore)
        return dict(loss_rpn_cls=losses['loss_cls'], loss_rpn_bbox=losses['loss_bbox'])

    def _get_bboxes_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                           score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                           img_meta: dict, cfg: Optional[dict], rescale: bool = False,
                           with_nms: bool = True, **kwargs) -> Tensor:
        """Of one image: proposals (n, 5) at the network-input scale.

        Per level the ``nms_pre`` highest-scoring anchors (``mlvl_priors[l]`` (P_l, 4)) are
        kept, then :meth:`_proposal_post_process` decodes them, drops the small ones and runs
        NMS. ``score_factor_list``, ``rescale`` and ``with_nms`` are ignored, as in 2.x (the
        RPN detector rescales; proposals are always NMS-ed).
        """
        cfg = self.resolve_test_cfg(cfg)
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        level_ids, mlvl_scores, mlvl_bbox_preds, mlvl_valid_anchors = [], [], [], []
        for level_idx, (rpn_cls_score, rpn_bbox_pred, anchors) in enumerate(
                zip(cls_score_list, bbox_pred_list, mlvl_priors)):
            if rpn_cls_score.shape[-2:] != rpn_bbox_pred.shape[-2:]:
                raise ValueError(f'objectness {tuple(rpn_cls_score.shape)} and deltas '
                                 f'{tuple(rpn_bbox_pred.shape)} of level {level_idx} differ')
            rpn_cls_score = rpn_cls_score.permute(1, 2, 0)
            if self.use_sigmoid_cls:
                scores = rpn_cls_score.reshape(-1).sigmoid()
            else:
                # Softmax over (foreground, background): column 0 is the foreground.
                scores = rpn_cls_score.reshape(-1, 2).softmax(dim=1)[:, 0]
            rpn_bbox_pred = rpn_bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            if 0 < nms_pre < scores.shape[0]:
                scores, topk_inds = sorted_topk(scores, nms_pre)
                rpn_bbox_pred = rpn_bbox_pred[topk_inds]
                anchors = anchors[topk_inds]
            mlvl_scores.append(scores)
            mlvl_bbox_preds.append(rpn_bbox_pred)
            mlvl_valid_anchors.append(anchors)
            level_ids.append(scores.new_full((scores.size(0),), level_idx, dtype=torch.long))
        return self._proposal_post_process(mlvl_scores, mlvl_bbox_preds, mlvl_valid_anchors,
                                           level_ids, cfg, img_shape)

    def _proposal_post_process(self, mlvl_scores: List[Tensor], mlvl_bboxes: List[Tensor],
                               mlvl_valid_anchors: List[Tensor], level_ids: List[Tensor],
                               cfg: ConfigDict, img_shape: Sequence[int]) -> Tensor:
        """Of one image: decode the kept deltas ``mlvl_bboxes[l]`` (k_l, 4) against
        ``mlvl_valid_anchors[l]``, drop boxes not larger than ``min_bbox_size``, NMS per level
        (``level_ids`` as ``batched_nms`` groups), keep the ``max_per_img`` best → (n, 5).

        (2.x called this RPNHead's ``_bbox_post_process``, with a signature unlike the base's;
        here the base's ``_bbox_post_process`` keeps its one signature.)
        """
        scores = torch.cat(mlvl_scores)
        anchors = torch.cat(mlvl_valid_anchors)
        rpn_bbox_pred = torch.cat(mlvl_bboxes)
        proposals = self.bbox_coder.decode(anchors, rpn_bbox_pred, max_shape=img_shape)
        ids = torch.cat(level_ids)
        min_bbox_size = cfg.get('min_bbox_size', -1)
        if min_bbox_size >= 0:
            w = proposals[:, 2] - proposals[:, 0]
            h = proposals[:, 3] - proposals[:, 1]
            valid = (w > min_bbox_size) & (h > min_bbox_size)
            if not valid.all():
                proposals, scores, ids = proposals[valid], scores[valid], ids[valid]
        if proposals.numel() == 0:
            return proposals.new_zeros(0, 5)
        dets, _ = batched_nms(proposals, scores, ids, cfg.nms)
        max_per_img = cfg.get('max_per_img', -1)
        return dets[:max_per_img] if max_per_img is not None and max_per_img > 0 else dets

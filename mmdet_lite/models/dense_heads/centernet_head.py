"""CenterNetHead: objects as centre points (Zhou et al., "Objects as Points", 2019), mmdet 2.x.

Shape shorthand:
    B: images in the batch        C: classes
    H, W: the one output level    k: ``test_cfg.topk`` points kept per image

Three small heads on one feature map: a class heat map of object centres (sigmoid),
box sizes (w, h) and sub-pixel centre offsets, both in output-map pixels. Decoding keeps the
local maxima of the heat map (max-pool NMS), the k best, and builds each box around its
offset centre; there is no box NMS unless ``with_nms``.
"""
import copy
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import bias_init_with_prob, normal_init
from torch import Tensor, nn

from ...core import batched_nms, multi_apply
from ...core.bbox.scale_factor import scale_factor_tensor
from ...core.utils.config import as_config
from ..builder import HEADS, build_loss
from ..utils.gaussian_target import (gaussian_radius, gen_gaussian_target, get_local_maximum,
                                     get_topk_from_heatmap, transpose_and_gather_feat)
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import Detections
from .base_dense_head import BaseDenseHead


class CenterNetTargets(NamedTuple):
    """Of a batch (``CenterNetHead.get_targets``): ``center_heatmap_target`` (B, C, H, W)
    Gaussians at the GT centres; ``wh_target`` / ``offset_target`` (B, 2, H, W) sizes and
    sub-pixel offsets at the centre cells; ``wh_offset_target_weight`` (B, 2, H, W) 1 there."""
    center_heatmap_target: Tensor
    wh_target: Tensor
    offset_target: Tensor
    wh_offset_target_weight: Tensor

    def __getitem__(self, key):
        """``targets['name']`` as well: 2.x returned these targets as a dict."""
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)


@HEADS.register_module()
class CenterNetHead(BaseDenseHead):
    """``heatmap_head``, ``wh_head``, ``offset_head``: each a 3x3 conv, ReLU and 1x1 conv.

    Args:
        in_channel: channels of the input feature map.
        feat_channel: hidden channels of the three heads.
        num_classes: classes of the heat map.
        loss_center_heatmap / loss_wh / loss_offset: loss configs.
        train_cfg: unused (kept for the detector's interface).
        test_cfg: ``topk``, ``local_maximum_kernel``, ``max_per_img`` (and ``nms`` when
            ``get_bboxes(with_nms=True)``).
        init_cfg: unused by :meth:`init_weights` (as 2.x).
    """

    def __init__(self, in_channel: int, feat_channel: int, num_classes: int,
                 loss_center_heatmap: Optional[dict] = None, loss_wh: Optional[dict] = None,
                 loss_offset: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg)
        if loss_center_heatmap is None:
            loss_center_heatmap = dict(type='GaussianFocalLoss', loss_weight=1.0)
        if loss_wh is None:
            loss_wh = dict(type='L1Loss', loss_weight=0.1)
        if loss_offset is None:
            loss_offset = dict(type='L1Loss', loss_weight=1.0)
        self.num_classes = num_classes
        self.heatmap_head = self._build_head(in_channel, feat_channel, num_classes)
        self.wh_head = self._build_head(in_channel, feat_channel, 2)
        self.offset_head = self._build_head(in_channel, feat_channel, 2)
        self.loss_center_heatmap = build_loss(copy.deepcopy(loss_center_heatmap))
        self.loss_wh = build_loss(copy.deepcopy(loss_wh))
        self.loss_offset = build_loss(copy.deepcopy(loss_offset))
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        self.fp16_enabled = False

    def _build_head(self, in_channel: int, feat_channel: int, out_channel: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(in_channel, feat_channel, kernel_size=3, padding=1),
                             nn.ReLU(inplace=True),
                             nn.Conv2d(feat_channel, out_channel, kernel_size=1))

    def init_weights(self) -> None:
        """As 2.x: heat-map bias at probability 0.1; size and offset convs Normal(0.001)."""
        self.heatmap_head[-1].bias.data.fill_(bias_init_with_prob(0.1))
        for head in (self.wh_head, self.offset_head):
            for m in head.modules():
                if isinstance(m, nn.Conv2d):
                    normal_init(m, std=0.001)

    def forward_single(self, feat: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: (B, C_in, H, W) → heat map (B, C, H, W) after the sigmoid, sizes
        (B, 2, H, W), offsets (B, 2, H, W)."""
        return (self.heatmap_head(feat).sigmoid(), self.wh_head(feat),
                self.offset_head(feat))

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor],
                                                        List[Tensor]]:
        """Feature maps → (center_heatmap_preds, wh_preds, offset_preds), lists over levels."""
        return multi_apply(self.forward_single, feats)

    @staticmethod
    def _one_level(*outputs: Sequence[Tensor]) -> None:
        if not all(len(o) == 1 for o in outputs):
            raise ValueError(f'CenterNetHead works on one feature level, got '
                             f'{[len(o) for o in outputs]}; use a neck with one output '
                             '(CTResNetNeck)')

    def loss(self, center_heatmap_preds: Sequence[Tensor], wh_preds: Sequence[Tensor],
             offset_preds: Sequence[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict], gt_bboxes_ignore: Optional[List[Tensor]] = None
             ) -> Dict[str, Tensor]:
        """``loss_center_heatmap`` (averaged over the GT centres, at least 1),
        ``loss_wh`` and ``loss_offset`` (averaged over twice that)."""
        self._one_level(center_heatmap_preds, wh_preds, offset_preds)
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        center_heatmap_pred = center_heatmap_preds[0]
        targets, avg_factor = self.get_targets(gt_bboxes, gt_labels, center_heatmap_pred.shape,
                                               img_metas[0]['pad_shape'])
        loss_center_heatmap = self.loss_center_heatmap(
            center_heatmap_pred, targets.center_heatmap_target, avg_factor=avg_factor)
        loss_wh = self.loss_wh(wh_preds[0], targets.wh_target,
                               targets.wh_offset_target_weight, avg_factor=avg_factor * 2)
        loss_offset = self.loss_offset(offset_preds[0], targets.offset_target,
                                       targets.wh_offset_target_weight,
                                       avg_factor=avg_factor * 2)
        return dict(loss_center_heatmap=loss_center_heatmap, loss_wh=loss_wh,
                    loss_offset=loss_offset)

    def get_targets(self, gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                    feat_shape: Sequence[int], img_shape: Sequence[int]
                    ) -> Tuple[CenterNetTargets, Union[int, Tensor]]:
        """Targets of the (B, C, H, W) output for boxes in an ``img_shape`` (h, w, ...) input,
        and the number of GT centres (heat-map cells equal to 1, at least 1).

        Each box's centre in output pixels gets a Gaussian of CornerNet's radius for IoU 0.3
        in its class channel; its integer cell gets the box size and the fractional offset.
        """
        img_h, img_w = img_shape[:2]
        bs, _, feat_h, feat_w = feat_shape
        width_ratio = float(feat_w / img_w)
        height_ratio = float(feat_h / img_h)
        center_heatmap_target = gt_bboxes[-1].new_zeros([bs, self.num_classes, feat_h, feat_w])
        wh_target = gt_bboxes[-1].new_zeros([bs, 2, feat_h, feat_w])
        offset_target = gt_bboxes[-1].new_zeros([bs, 2, feat_h, feat_w])
        wh_offset_target_weight = gt_bboxes[-1].new_zeros([bs, 2, feat_h, feat_w])
        for batch_id in range(bs):
            gt_bbox = gt_bboxes[batch_id]
            gt_label = gt_labels[batch_id]
            center_x = (gt_bbox[:, [0]] + gt_bbox[:, [2]]) * width_ratio / 2
            center_y = (gt_bbox[:, [1]] + gt_bbox[:, [3]]) * height_ratio / 2
            gt_centers = torch.cat((center_x, center_y), dim=1)
            for j, ct in enumerate(gt_centers):
                ctx_int, cty_int = ct.int()
                ctx, cty = ct
                scale_box_h = (gt_bbox[j][3] - gt_bbox[j][1]) * height_ratio
                scale_box_w = (gt_bbox[j][2] - gt_bbox[j][0]) * width_ratio
                radius = max(0, int(gaussian_radius([scale_box_h, scale_box_w],
                                                    min_overlap=0.3)))
                gen_gaussian_target(center_heatmap_target[batch_id, gt_label[j]],
                                    [ctx_int, cty_int], radius)
                wh_target[batch_id, 0, cty_int, ctx_int] = scale_box_w
                wh_target[batch_id, 1, cty_int, ctx_int] = scale_box_h
                offset_target[batch_id, 0, cty_int, ctx_int] = ctx - ctx_int
                offset_target[batch_id, 1, cty_int, ctx_int] = cty - cty_int
                wh_offset_target_weight[batch_id, :, cty_int, ctx_int] = 1
        avg_factor = max(1, center_heatmap_target.eq(1).sum())
        return CenterNetTargets(center_heatmap_target, wh_target, offset_target,
                                wh_offset_target_weight), avg_factor

    def get_bboxes(self, center_heatmap_preds: Sequence[Tensor], wh_preds: Sequence[Tensor],
                   offset_preds: Sequence[Tensor], img_metas: Optional[List[dict]] = None,
                   rescale: bool = True, with_nms: bool = False) -> List[Detections]:
        """Per image ``Detections(det_bboxes (k, 5), det_labels (k,))``: the top-k centres
        (boxes shifted back by ``img_meta['border']``'s left/top, the padding a test-time
        ``RandomCenterCropPad`` added; no shift without it), divided by ``scale_factor`` when
        ``rescale``; class-aware NMS (``test_cfg.nms``) and ``max_per_img`` when ``with_nms``.
        """
        self._one_level(center_heatmap_preds, wh_preds, offset_preds)
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (batch_input_shape, scale_factor)')
        return [self._get_bboxes_single(center_heatmap_preds[0][i:i + 1],
                                        wh_preds[0][i:i + 1], offset_preds[0][i:i + 1],
                                        img_meta, rescale=rescale, with_nms=with_nms)
                for i, img_meta in enumerate(img_metas)]

    def _get_bboxes_single(self, center_heatmap_pred: Tensor, wh_pred: Tensor,
                           offset_pred: Tensor, img_meta: dict, rescale: bool = False,
                           with_nms: bool = True) -> Detections:
        """Of one image: heat map (1, C, H, W), sizes and offsets (1, 2, H, W)."""
        cfg = self.resolve_test_cfg(None)
        input_shape = img_meta.get('batch_input_shape', img_meta['pad_shape'][:2])
        batch_det_bboxes, batch_labels = self.decode_heatmap(
            center_heatmap_pred, wh_pred, offset_pred, input_shape, k=cfg.topk,
            kernel=cfg.local_maximum_kernel)
        det_bboxes = batch_det_bboxes.view([-1, 5])
        det_labels = batch_labels.view(-1)
        border = img_meta.get('border')
        if border is not None:
            # border = (top, bottom, left, right): shift by (left, top)
            det_bboxes[..., :4] -= det_bboxes.new_tensor(border)[..., [2, 0, 2, 0]]
        if rescale:
            det_bboxes[..., :4] /= scale_factor_tensor(img_meta['scale_factor'], det_bboxes)
        if with_nms:
            det_bboxes, det_labels = self._bboxes_nms(det_bboxes, det_labels, cfg)
        return Detections(det_bboxes, det_labels)

    def decode_heatmap(self, center_heatmap_pred: Tensor, wh_pred: Tensor, offset_pred: Tensor,
                       img_shape: Sequence[int], k: int = 100,
                       kernel: int = 3) -> Tuple[Tensor, Tensor]:
        """The k best local maxima of the (B, C, H, W) heat map as boxes (B, k, 5) in the
        ``img_shape`` (h, w) input frame and their labels (B, k)."""
        height, width = center_heatmap_pred.shape[2:]
        inp_h, inp_w = img_shape[:2]
        center_heatmap_pred = get_local_maximum(center_heatmap_pred, kernel=kernel)
        batch_scores, batch_index, batch_topk_labels, topk_ys, topk_xs = \
            get_topk_from_heatmap(center_heatmap_pred, k=k)
        wh = transpose_and_gather_feat(wh_pred, batch_index)
        offset = transpose_and_gather_feat(offset_pred, batch_index)
        topk_xs = topk_xs + offset[..., 0]
        topk_ys = topk_ys + offset[..., 1]
        tl_x = (topk_xs - wh[..., 0] / 2) * (inp_w / width)
        tl_y = (topk_ys - wh[..., 1] / 2) * (inp_h / height)
        br_x = (topk_xs + wh[..., 0] / 2) * (inp_w / width)
        br_y = (topk_ys + wh[..., 1] / 2) * (inp_h / height)
        batch_bboxes = torch.stack([tl_x, tl_y, br_x, br_y], dim=2)
        return torch.cat((batch_bboxes, batch_scores[..., None]), dim=-1), batch_topk_labels

    def _bboxes_nms(self, bboxes: Tensor, labels: Tensor, cfg) -> Tuple[Tensor, Tensor]:
        """Class-aware NMS of (n, 5) boxes, the best ``cfg.max_per_img`` kept."""
        if labels.numel() > 0:
            # 2.x's CenterNet.aug_test switches NMS on with test_cfg.nms_cfg
            nms_cfg = cfg.get('nms', cfg.get('nms_cfg'))
            bboxes, keep = batched_nms(bboxes[:, :4], bboxes[:, -1].contiguous(), labels,
                                       nms_cfg)
            # 2.x left the labels unfiltered when max_per_img <= 0
            labels = labels[keep]
            if cfg.max_per_img > 0:
                bboxes = bboxes[:cfg.max_per_img]
                labels = labels[:cfg.max_per_img]
        return bboxes, labels

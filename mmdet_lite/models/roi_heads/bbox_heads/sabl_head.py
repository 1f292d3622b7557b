"""SABLHead: Side-Aware Boundary Localization for the RoI head (Wang et al., ECCV 2020;
mmdetection 2.x).

Each box side is located in two steps: which of ``side_num`` buckets (slices of the RoI, scaled
by the coder's ``scale_factor``) holds it (``bucket_cls``), and a fine offset from that bucket
(``bucket_offset``); the bucket scores also rescore the detections (``BucketingBBoxCoder``).
The side features come from attention pooling of the RoI features along x and along y.

Shapes: ``K`` RoIs, ``C`` foreground classes, ``S`` = ``side_num`` = ceil(num_buckets / 2),
``B`` = ``num_buckets`` = ``roi_feat_size * reg_feat_up_ratio``, ``F`` = ``reg_in_channels``.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ....core import build_bbox_coder, multi_apply, multiclass_nms
from ....core.bbox.scale_factor import scale_factor_tensor
from ....core.utils.config import as_config
from ...builder import HEADS, build_loss
from ...losses import accuracy
from ...utils.conv_module import ConvModule
from ...utils.results import BBoxTargets, Detections, RoICandidates

Tensor = torch.Tensor
# (bucket cls, bucket offset) predictions or targets, each (K, 4 * S): left, right, top, down
BucketPair = Tuple[Tensor, Tensor]


@HEADS.register_module()
class SABLHead(BaseModule):
    """SABL box head: a ``cls_fcs`` + ``fc_cls`` classifier and the side-aware regressor
    (``reg_pre_convs``, attention ``reg_conv_att_x/y``, ``reg_post_conv_xs/ys``,
    ``upsample_x/y``, shared ``reg_cls_fcs``/``reg_offset_fcs``, ``fc_reg_cls``,
    ``fc_reg_offset``).

    Args:
        num_classes: foreground classes.
        cls_in_channels / reg_in_channels: channels of the RoI features of each branch.
        roi_feat_size: RoI feature size.
        reg_feat_up_ratio: upsampling of the side features (``roi_feat_size * ratio`` must
            equal the coder's ``num_buckets``).
        reg_pre_kernel / reg_post_kernel: kernels of the 2-D convs before and the 1-D convs
            after the attention pooling; reg_pre_num / reg_post_num: their counts.
        cls_out_channels: hidden width of ``cls_fcs``.
        reg_offset_out_channels / reg_cls_out_channels: hidden widths of the regressor fcs.
        num_cls_fcs / num_reg_fcs: fc counts of the branches.
        reg_class_agnostic: must be True (2.x).
        norm_cfg: norm of the convs.
        bbox_coder: ``BucketingBBoxCoder`` config.
        loss_cls / loss_bbox_cls / loss_bbox_reg: classification, bucket and offset losses.
    """

    def __init__(self, num_classes: int, cls_in_channels: int = 256, reg_in_channels: int = 256,
                 roi_feat_size: int = 7, reg_feat_up_ratio: int = 2, reg_pre_kernel: int = 3,
                 reg_post_kernel: int = 3, reg_pre_num: int = 2, reg_post_num: int = 1,
                 cls_out_channels: int = 1024, reg_offset_out_channels: int = 256,
                 reg_cls_out_channels: int = 256, num_cls_fcs: int = 1, num_reg_fcs: int = 0,
                 reg_class_agnostic: bool = True, norm_cfg: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None, loss_cls: Optional[dict] = None,
                 loss_bbox_cls: Optional[dict] = None, loss_bbox_reg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg)
        if bbox_coder is None:
            bbox_coder = dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=1.7)
        if loss_cls is None:
            loss_cls = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
        if loss_bbox_cls is None:
            loss_bbox_cls = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        if loss_bbox_reg is None:
            loss_bbox_reg = dict(type='SmoothL1Loss', beta=0.1, loss_weight=1.0)
        self.cls_in_channels = cls_in_channels
        self.reg_in_channels = reg_in_channels
        self.roi_feat_size = roi_feat_size
        self.reg_feat_up_ratio = int(reg_feat_up_ratio)
        self.num_buckets = bbox_coder['num_buckets']
        if self.reg_feat_up_ratio // 2 < 1:
            raise ValueError(f'SABLHead: reg_feat_up_ratio must be at least 2, got '
                             f'{reg_feat_up_ratio}')
        self.up_reg_feat_size = roi_feat_size * self.reg_feat_up_ratio
        if self.up_reg_feat_size != self.num_buckets:
            raise ValueError(f'SABLHead: roi_feat_size * reg_feat_up_ratio = '
                             f'{self.up_reg_feat_size} must equal bbox_coder.num_buckets='
                             f'{self.num_buckets}')
        if not reg_class_agnostic:
            raise ValueError('SABLHead regresses class-agnostic boxes only '
                             '(reg_class_agnostic=True)')
        self.reg_pre_kernel = reg_pre_kernel
        self.reg_post_kernel = reg_post_kernel
        self.reg_pre_num = reg_pre_num
        self.reg_post_num = reg_post_num
        self.num_classes = num_classes
        self.cls_out_channels = cls_out_channels
        self.reg_offset_out_channels = reg_offset_out_channels
        self.reg_cls_out_channels = reg_cls_out_channels
        self.num_cls_fcs = num_cls_fcs
        self.num_reg_fcs = num_reg_fcs
        self.reg_class_agnostic = reg_class_agnostic
        self.norm_cfg = norm_cfg

        self.bbox_coder = build_bbox_coder(dict(bbox_coder))
        self.loss_cls = build_loss(dict(loss_cls))
        self.loss_bbox_cls = build_loss(dict(loss_bbox_cls))
        self.loss_bbox_reg = build_loss(dict(loss_bbox_reg))

        self.cls_fcs = self._add_fc_branch(num_cls_fcs, cls_in_channels, roi_feat_size,
                                           cls_out_channels)
        self.side_num = int(math.ceil(self.num_buckets / 2))
        if self.reg_feat_up_ratio > 1:
            self.upsample_x = nn.ConvTranspose1d(reg_in_channels, reg_in_channels,
                                                 self.reg_feat_up_ratio,
                                                 stride=self.reg_feat_up_ratio)
            self.upsample_y = nn.ConvTranspose1d(reg_in_channels, reg_in_channels,
                                                 self.reg_feat_up_ratio,
                                                 stride=self.reg_feat_up_ratio)
        self.reg_pre_convs = nn.ModuleList([
            ConvModule(reg_in_channels, reg_in_channels, kernel_size=reg_pre_kernel,
                       padding=reg_pre_kernel // 2, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
            for _ in range(reg_pre_num)])
        self.reg_post_conv_xs = nn.ModuleList([
            ConvModule(reg_in_channels, reg_in_channels, kernel_size=(1, reg_post_kernel),
                       padding=(0, reg_post_kernel // 2), norm_cfg=norm_cfg,
                       act_cfg=dict(type='ReLU'))
            for _ in range(reg_post_num)])
        self.reg_post_conv_ys = nn.ModuleList([
            ConvModule(reg_in_channels, reg_in_channels, kernel_size=(reg_post_kernel, 1),
                       padding=(reg_post_kernel // 2, 0), norm_cfg=norm_cfg,
                       act_cfg=dict(type='ReLU'))
            for _ in range(reg_post_num)])
        self.reg_conv_att_x = nn.Conv2d(reg_in_channels, 1, 1)
        self.reg_conv_att_y = nn.Conv2d(reg_in_channels, 1, 1)
        self.fc_cls = nn.Linear(cls_out_channels, num_classes + 1)
        self.relu = nn.ReLU(inplace=True)
        self.reg_cls_fcs = self._add_fc_branch(num_reg_fcs, reg_in_channels, 1,
                                               reg_cls_out_channels)
        self.reg_offset_fcs = self._add_fc_branch(num_reg_fcs, reg_in_channels, 1,
                                                  reg_offset_out_channels)
        self.fc_reg_cls = nn.Linear(reg_cls_out_channels, 1)
        self.fc_reg_offset = nn.Linear(reg_offset_out_channels, 1)

        if init_cfg is None:
            self.init_cfg = [
                dict(type='Xavier', layer='Linear', distribution='uniform', override=[
                    dict(type='Normal', name='reg_conv_att_x', std=0.01),
                    dict(type='Normal', name='reg_conv_att_y', std=0.01),
                    dict(type='Normal', name='fc_reg_cls', std=0.01),
                    dict(type='Normal', name='fc_cls', std=0.01),
                    dict(type='Normal', name='fc_reg_offset', std=0.001)])
            ]
            if self.reg_feat_up_ratio > 1:
                self.init_cfg += [dict(type='Kaiming', distribution='normal',
                                       override=[dict(name='upsample_x'),
                                                 dict(name='upsample_y')])]

    @property
    def custom_cls_channels(self) -> bool:
        return getattr(self.loss_cls, 'custom_cls_channels', False)

    @property
    def custom_activation(self) -> bool:
        return getattr(self.loss_cls, 'custom_activation', False)

    @property
    def custom_accuracy(self) -> bool:
        return getattr(self.loss_cls, 'custom_accuracy', False)

    @staticmethod
    def _add_fc_branch(num_branch_fcs: int, in_channels: int, roi_feat_size: int,
                       fc_out_channels: int) -> nn.ModuleList:
        in_channels = in_channels * roi_feat_size * roi_feat_size
        return nn.ModuleList([
            nn.Linear(in_channels if i == 0 else fc_out_channels, fc_out_channels)
            for i in range(num_branch_fcs)])

    # ------------------------------------------------------------------ forward
    def cls_forward(self, cls_x: Tensor) -> Tensor:
        """(K, F_cls, s, s) RoI features -> (K, C + 1) class logits."""
        cls_x = cls_x.flatten(1)
        for fc in self.cls_fcs:
            cls_x = self.relu(fc(cls_x))
        return self.fc_cls(cls_x)

    def attention_pool(self, reg_x: Tensor) -> Tuple[Tensor, Tensor]:
        """(K, F, s, s) -> features along x (K, F, s) (pooled over rows with a softmax-free
        attention normalised per column) and along y (K, F, s)."""
        reg_fx_att = self.reg_conv_att_x(reg_x).sigmoid()
        reg_fy_att = self.reg_conv_att_y(reg_x).sigmoid()
        reg_fx_att = reg_fx_att / reg_fx_att.sum(dim=2).unsqueeze(2)
        reg_fy_att = reg_fy_att / reg_fy_att.sum(dim=3).unsqueeze(3)
        return (reg_x * reg_fx_att).sum(dim=2), (reg_x * reg_fy_att).sum(dim=3)

    def side_aware_feature_extractor(self, reg_x: Tensor) -> Tuple[Tensor, Tensor]:
        """(K, F, s, s) -> side features along x and y, each (K, B, F)."""
        for reg_pre_conv in self.reg_pre_convs:
            reg_x = reg_pre_conv(reg_x)
        reg_fx, reg_fy = self.attention_pool(reg_x)
        if self.reg_post_num > 0:
            reg_fx = reg_fx.unsqueeze(2)
            reg_fy = reg_fy.unsqueeze(3)
            for conv_x, conv_y in zip(self.reg_post_conv_xs, self.reg_post_conv_ys):
                reg_fx = conv_x(reg_fx)
                reg_fy = conv_y(reg_fy)
            reg_fx = reg_fx.squeeze(2)
            reg_fy = reg_fy.squeeze(3)
        if self.reg_feat_up_ratio > 1:
            reg_fx = self.relu(self.upsample_x(reg_fx))
            reg_fy = self.relu(self.upsample_y(reg_fy))
        return reg_fx.transpose(1, 2).contiguous(), reg_fy.transpose(1, 2).contiguous()

    def reg_pred(self, x: Tensor, offset_fcs: nn.ModuleList,
                 cls_fcs: nn.ModuleList) -> Tuple[Tensor, Tensor]:
        """Side features (K, B, F) -> per-bucket offsets (K, B) and bucket scores (K, B)."""
        x_offset = x.view(-1, self.reg_in_channels)
        x_cls = x.view(-1, self.reg_in_channels)
        for fc in offset_fcs:
            x_offset = self.relu(fc(x_offset))
        for fc in cls_fcs:
            x_cls = self.relu(fc(x_cls))
        # explicit sizes: K may be 0
        offset_pred = self.fc_reg_offset(x_offset).view(x.size(0), x.size(1))
        cls_pred = self.fc_reg_cls(x_cls).view(x.size(0), x.size(1))
        return offset_pred, cls_pred

    def side_aware_split(self, feat: Tensor) -> Tensor:
        """(K, B) along one axis -> (K, 2 * S): the first half (left / top side) as is, the
        second half reversed (right / down side, counted from the box's edge inwards), as the
        bucketing targets are ordered."""
        l_end = int(math.ceil(self.up_reg_feat_size / 2))
        r_start = int(math.floor(self.up_reg_feat_size / 2))
        feat_fl = feat[:, :l_end]
        feat_fr = feat[:, r_start:].flip(dims=(1, ))
        return torch.cat([feat_fl.contiguous(), feat_fr.contiguous()], dim=-1)

    def bbox_pred_split(self, bbox_pred: BucketPair,
                        num_proposals_per_img: Sequence[int]) -> Tuple[BucketPair, ...]:
        """The batch's (bucket cls, bucket offset) pair -> one pair per image."""
        bucket_cls_preds, bucket_offset_preds = bbox_pred
        return tuple(zip(bucket_cls_preds.split(num_proposals_per_img, 0),
                         bucket_offset_preds.split(num_proposals_per_img, 0)))

    def reg_forward(self, reg_x: Tensor) -> BucketPair:
        """(K, F, s, s) -> (bucket cls (K, 4 * S), bucket offsets (K, 4 * S))."""
        reg_fx, reg_fy = self.side_aware_feature_extractor(reg_x)
        offset_pred_x, cls_pred_x = self.reg_pred(reg_fx, self.reg_offset_fcs, self.reg_cls_fcs)
        offset_pred_y, cls_pred_y = self.reg_pred(reg_fy, self.reg_offset_fcs, self.reg_cls_fcs)
        edge_offset_preds = torch.cat([self.side_aware_split(offset_pred_x),
                                       self.side_aware_split(offset_pred_y)], dim=-1)
        edge_cls_preds = torch.cat([self.side_aware_split(cls_pred_x),
                                    self.side_aware_split(cls_pred_y)], dim=-1)
        return edge_cls_preds, edge_offset_preds

    def forward(self, x: Tensor) -> Tuple[Tensor, BucketPair]:
        """(K, F, s, s) RoI features -> (class logits (K, C + 1), (bucket cls, offsets))."""
        bbox_pred = self.reg_forward(x)
        return self.cls_forward(x), bbox_pred

    # ------------------------------------------------------------------ training
    def get_targets(self, sampling_results: Sequence, gt_bboxes: Sequence[Tensor],
                    gt_labels: Sequence[Tensor], rcnn_train_cfg,
                    concat: bool = True) -> BBoxTargets:
        """``BBoxTargets(labels (K,), label_weights (K,), (bucket cls, offset) targets,
        (bucket cls, offset) weights)``, each bucket tensor (K, 4 * S), positives first per
        image."""
        (labels, label_weights, bucket_cls_targets, bucket_cls_weights, bucket_offset_targets,
         bucket_offset_weights) = self.bucket_target(
             [res.pos_bboxes for res in sampling_results],
             [res.neg_bboxes for res in sampling_results],
             [res.pos_gt_bboxes for res in sampling_results],
             [res.pos_gt_labels for res in sampling_results], rcnn_train_cfg, concat=concat)
        return BBoxTargets(labels, label_weights, (bucket_cls_targets, bucket_offset_targets),
                           (bucket_cls_weights, bucket_offset_weights))

    def bucket_target(self, pos_proposals_list: List[Tensor], neg_proposals_list: List[Tensor],
                      pos_gt_bboxes_list: List[Tensor], pos_gt_labels_list: List[Tensor],
                      rcnn_train_cfg, concat: bool = True) -> tuple:
        """Per image :meth:`_bucket_target_single`, concatenated over images if ``concat``:
        (labels, label_weights, bucket_cls_targets, bucket_cls_weights,
        bucket_offset_targets, bucket_offset_weights)."""
        results = multi_apply(self._bucket_target_single, pos_proposals_list,
                              neg_proposals_list, pos_gt_bboxes_list, pos_gt_labels_list,
                              cfg=rcnn_train_cfg)
        if concat:
            results = tuple(torch.cat(r, 0) for r in results)
        return results

    def _bucket_target_single(self, pos_proposals: Tensor, neg_proposals: Tensor,
                              pos_gt_bboxes: Tensor, pos_gt_labels: Tensor, cfg) -> tuple:
        """Of one image: class labels (n,) (``C`` for negatives), label weights (n,), and bucket
        cls / offset targets and weights, each (n, 4 * S) and zero for negatives."""
        num_pos = pos_proposals.size(0)
        num_neg = neg_proposals.size(0)
        num_samples = num_pos + num_neg
        labels = pos_gt_bboxes.new_full((num_samples, ), self.num_classes, dtype=torch.long)
        label_weights = pos_proposals.new_zeros(num_samples)
        bucket_cls_targets = pos_proposals.new_zeros(num_samples, 4 * self.side_num)
        bucket_cls_weights = pos_proposals.new_zeros(num_samples, 4 * self.side_num)
        bucket_offset_targets = pos_proposals.new_zeros(num_samples, 4 * self.side_num)
        bucket_offset_weights = pos_proposals.new_zeros(num_samples, 4 * self.side_num)
        if num_pos > 0:
            labels[:num_pos] = pos_gt_labels
            label_weights[:num_pos] = 1.0
            offsets, offset_weights, cls_targets, cls_weights = self.bbox_coder.encode(
                pos_proposals, pos_gt_bboxes)
            bucket_cls_targets[:num_pos] = cls_targets
            bucket_cls_weights[:num_pos] = cls_weights
            bucket_offset_targets[:num_pos] = offsets
            bucket_offset_weights[:num_pos] = offset_weights
        if num_neg > 0:
            label_weights[-num_neg:] = 1.0
        return (labels, label_weights, bucket_cls_targets, bucket_cls_weights,
                bucket_offset_targets, bucket_offset_weights)

    def loss(self, cls_score: Optional[Tensor], bbox_pred: Optional[BucketPair], rois: Tensor,
             labels: Tensor, label_weights: Tensor, bbox_targets: BucketPair,
             bbox_weights: BucketPair,
             reduction_override: Optional[str] = None) -> Dict[str, Tensor]:
        """``loss_cls`` and ``acc`` as ``BBoxHead``; ``loss_bbox_cls`` (bucket scores, one
        sigmoid per bucket) and ``loss_bbox_reg`` (offsets), both averaged over RoIs x sides."""
        losses: Dict[str, Tensor] = dict()
        if cls_score is not None:
            avg_factor = max(torch.sum(label_weights > 0).float().item(), 1.)
            losses['loss_cls'] = self.loss_cls(cls_score, labels, label_weights,
                                               avg_factor=avg_factor,
                                               reduction_override=reduction_override)
            losses['acc'] = accuracy(cls_score, labels)
        if bbox_pred is not None:
            bucket_cls_preds, bucket_offset_preds = bbox_pred
            bucket_cls_targets, bucket_offset_targets = bbox_targets
            bucket_cls_weights, bucket_offset_weights = bbox_weights
            bucket_cls_preds = bucket_cls_preds.view(-1, self.side_num)
            bucket_cls_targets = bucket_cls_targets.view(-1, self.side_num)
            bucket_cls_weights = bucket_cls_weights.view(-1, self.side_num)
            losses['loss_bbox_cls'] = self.loss_bbox_cls(
                bucket_cls_preds, bucket_cls_targets, bucket_cls_weights,
                avg_factor=bucket_cls_targets.size(0), reduction_override=reduction_override)
            losses['loss_bbox_reg'] = self.loss_bbox_reg(
                bucket_offset_preds, bucket_offset_targets, bucket_offset_weights,
                avg_factor=bucket_offset_targets.size(0), reduction_override=reduction_override)
        return losses

    # ------------------------------------------------------------------ inference
    def get_bboxes(self, rois: Tensor, cls_score: Union[Tensor, List[Tensor], None],
                   bbox_pred: Optional[BucketPair], img_shape: Optional[Sequence[int]],
                   scale_factor, rescale: bool = False,
                   cfg=None) -> Union[Detections, RoICandidates]:
        """Of one image: boxes decoded from the buckets, then (with ``cfg``) per-class NMS of
        the class scores times the buckets' localisation confidence.

        ``rois`` (K, 5), ``cls_score`` (K, C + 1) logits (a list is averaged, 2.x's cascade
        input), ``bbox_pred`` the (bucket cls, offset) pair. Returns ``Detections`` (n, 5),
        (n,), or with ``cfg=None`` ``RoICandidates(bboxes (K, 4), scores (K, C + 1))``.
        """
        if isinstance(cls_score, list):
            cls_score = sum(cls_score) / float(len(cls_score))
        scores = F.softmax(cls_score, dim=1) if cls_score is not None else None
        if bbox_pred is not None:
            bboxes, confidences = self.bbox_coder.decode(rois[:, 1:], bbox_pred, img_shape)
        else:
            bboxes = rois[:, 1:].clone()
            confidences = None
            if img_shape is not None:
                bboxes[:, [0, 2]] = bboxes[:, [0, 2]].clamp(min=0, max=img_shape[1] - 1)
                bboxes[:, [1, 3]] = bboxes[:, [1, 3]].clamp(min=0, max=img_shape[0] - 1)
        if rescale and bboxes.size(0) > 0:
            bboxes = bboxes / scale_factor_tensor(scale_factor, bboxes)
        if cfg is None:
            return RoICandidates(bboxes, scores)
        cfg = as_config(cfg)
        return Detections(*multiclass_nms(bboxes, scores, cfg.score_thr, cfg.nms,
                                          cfg.max_per_img, score_factors=confidences))

    def refine_bboxes(self, rois: Tensor, labels: Tensor, bbox_preds: BucketPair,
                      pos_is_gts: List[Tensor], img_metas: List[dict]) -> List[Tensor]:
        """Per image the sampled RoIs (K, 5) of a batch regressed by the buckets, sampled GTs
        dropped (a cascade's next proposals)."""
        img_ids = rois[:, 0].long().unique(sorted=True)
        if img_ids.numel() > len(img_metas):
            raise ValueError(f'rois name {img_ids.numel()} images but {len(img_metas)} '
                             'img_metas are given')
        edge_cls_preds, edge_offset_preds = bbox_preds
        bboxes_list = []
        for i, img_meta in enumerate(img_metas):
            inds = torch.nonzero(rois[:, 0] == i, as_tuple=False).squeeze(dim=1)
            bboxes = self.regress_by_class(rois[inds, 1:], labels[inds],
                                           [edge_cls_preds[inds], edge_offset_preds[inds]],
                                           img_meta)
            pos_is_gt = pos_is_gts[i]
            keep = pos_is_gt.new_ones(inds.numel(), dtype=torch.bool)
            keep[:pos_is_gt.numel()] = pos_is_gt == 0
            bboxes_list.append(bboxes[keep])
        return bboxes_list

    def regress_by_class(self, rois: Tensor, label: Tensor, bbox_pred: Sequence[Tensor],
                         img_meta: dict) -> Tensor:
        """Of one image: ``rois`` (K, 4) or (K, 5) regressed by the (bucket cls, offset) pair
        (class-agnostic, ``label`` unused), the batch index kept for (K, 5)."""
        if rois.size(1) not in (4, 5):
            raise ValueError(f'rois must be (K, 4) or (K, 5), got {tuple(rois.shape)}')
        if rois.size(1) == 4:
            new_rois, _ = self.bbox_coder.decode(rois, bbox_pred, img_meta['img_shape'])
            return new_rois
        bboxes, _ = self.bbox_coder.decode(rois[:, 1:], bbox_pred, img_meta['img_shape'])
        return torch.cat((rois[:, [0]], bboxes), dim=1)

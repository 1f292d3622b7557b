"""SSDHead: SSD's per-level softmax classifiers and box regressors (Liu et al., 2016), and
SSDLite's depth-wise variant (Sandler et al., 2018), mmdet 2.x.

Shape shorthand:
    N: images in the batch          L: levels (6 for SSD300)
    A_l: anchors per location of level l (``num_base_priors[l]``: 4 or 6)
    C: classes + 1 (softmax, background last; ``cls_out_channels``)
    H_l, W_l: size of level l       P = sum_l H_l * W_l * A_l anchors of one image

Training uses hard negative mining: per image every positive anchor and the
``neg_pos_ratio`` x (positives) negatives of highest classification loss.
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import DepthwiseSeparableConvModule
from torch import Tensor, nn

from ...core import build_assigner, build_bbox_coder, build_prior_generator, build_sampler
from ...core import multi_apply
from ...core.utils.config import as_config
from ..builder import HEADS
from ..losses import smooth_l1_loss
from ..utils.conv_module import ConvModule
from ..utils.results import AnchorTargets
from .anchor_head import AnchorHead
from .base_dense_head import BaseDenseHead


@HEADS.register_module()
class SSDHead(AnchorHead):
    """Per level a ``cls_convs[l]`` and a ``reg_convs[l]`` ``Sequential``: ``stacked_convs``
    ConvModules (depth-wise separable and a depth-wise 3x3 with ``use_depthwise``), then the
    predictor conv (3x3, or 1x1 with ``use_depthwise``) to A_l * C / A_l * 4 channels.

    Args:
        num_classes: foreground classes.
        in_channels: input channels per level.
        stacked_convs: convs before each predictor.
        feat_channels: their channels.
        use_depthwise: SSDLite's depth-wise convs.
        conv_cfg / norm_cfg / act_cfg: of the stacked convs.
        anchor_generator: ``SSDAnchorGenerator`` config.
        bbox_coder: ``DeltaXYWHBBoxCoder`` config.
        reg_decoded_bbox: regress decoded boxes instead of deltas.
        train_cfg: ``assigner``, ``neg_pos_ratio``, ``smoothl1_beta``, ``allowed_border``,
            ``pos_weight``.
        test_cfg: ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.
        init_cfg: 2.x default: Xavier-uniform convs with zero bias.
    """

    def __init__(self, num_classes: int = 80,
                 in_channels: Sequence[int] = (512, 1024, 512, 256, 256, 256),
                 stacked_convs: int = 0, feat_channels: int = 256,
                 use_depthwise: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 anchor_generator: Optional[dict] = None,
                 bbox_coder: Optional[dict] = None, reg_decoded_bbox: bool = False,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Xavier', layer='Conv2d', distribution='uniform', bias=0)
        # AnchorHead's constructor builds losses and one predictor per head; SSD has neither.
        BaseDenseHead.__init__(self, init_cfg=init_cfg)
        if anchor_generator is None:
            anchor_generator = dict(type='SSDAnchorGenerator', scale_major=False, input_size=300,
                                    strides=[8, 16, 32, 64, 100, 300],
                                    ratios=([2], [2, 3], [2, 3], [2, 3], [2], [2]),
                                    basesize_ratio_range=(0.1, 0.9))
        if bbox_coder is None:
            bbox_coder = dict(type='DeltaXYWHBBoxCoder', clip_border=True,
                              target_means=[.0, .0, .0, .0], target_stds=[1.0, 1.0, 1.0, 1.0])
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.stacked_convs = stacked_convs
        self.feat_channels = feat_channels
        self.use_depthwise = use_depthwise
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.cls_out_channels = num_classes + 1  # background last
        self.prior_generator = build_prior_generator(copy.deepcopy(anchor_generator))
        # one count per level (4 or 6 anchors), unlike AnchorHead's single number
        self.num_base_priors = self.prior_generator.num_base_priors
        if len(self.num_base_priors) != len(in_channels):
            raise ValueError(f'SSDHead: in_channels {list(in_channels)} has '
                             f'{len(in_channels)} levels but the anchor generator has '
                             f'{len(self.num_base_priors)}')
        self._init_layers()
        self.bbox_coder = build_bbox_coder(copy.deepcopy(bbox_coder))
        self.reg_decoded_bbox = reg_decoded_bbox
        self.use_sigmoid_cls = False
        self.cls_focal_loss = False
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        self.sampling = False
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.sampler = build_sampler(dict(type='PseudoSampler'), context=self)
        self.fp16_enabled = False

    @property
    def num_anchors(self) -> List[int]:
        """Deprecated 2.x alias of ``num_base_priors`` (A_l per level); warns as 2.x did."""
        warnings.warn('DeprecationWarning: `num_anchors` is deprecated, please use '
                      '"num_base_priors" instead')
        return self.num_base_priors

    def _init_layers(self) -> None:
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        for channel, num_base_priors in zip(self.in_channels, self.num_base_priors):
            cls_layers, reg_layers = [], []
            in_channel = channel
            for _ in range(self.stacked_convs):
                for layers in (cls_layers, reg_layers):
                    layers.append(conv(in_channel, self.feat_channels, 3, padding=1,
                                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                       act_cfg=self.act_cfg))
                in_channel = self.feat_channels
            if self.use_depthwise:
                for layers in (cls_layers, reg_layers):
                    layers.append(ConvModule(in_channel, in_channel, 3, padding=1,
                                             groups=in_channel, conv_cfg=self.conv_cfg,
                                             norm_cfg=self.norm_cfg, act_cfg=self.act_cfg))
            kernel_size = 1 if self.use_depthwise else 3
            padding = 0 if self.use_depthwise else 1
            cls_layers.append(nn.Conv2d(in_channel, num_base_priors * self.cls_out_channels,
                                        kernel_size=kernel_size, padding=padding))
            reg_layers.append(nn.Conv2d(in_channel, num_base_priors * 4,
                                        kernel_size=kernel_size, padding=padding))
            self.cls_convs.append(nn.Sequential(*cls_layers))
            self.reg_convs.append(nn.Sequential(*reg_layers))

    def forward_single(self, x: Tensor, cls_conv: nn.Module,
                       reg_conv: nn.Module) -> Tuple[Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → (N, A_l * C, H, W) scores, (N, A_l * 4, H, W)
        deltas."""
        return cls_conv(x), reg_conv(x)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds), each a list over levels."""
        return multi_apply(self.forward_single, feats, self.cls_convs, self.reg_convs)

    def loss_single(self, cls_score: Tensor, bbox_pred: Tensor, anchor: Tensor, labels: Tensor,
                    label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
                    num_total_samples: int) -> Tuple[Tensor, Tensor]:
        """Of one image (all levels): cls_score (P, C), bbox_pred (P, 4), anchor (P, 4),
        labels / label_weights (P,), bbox targets / weights (P, 4).

        The classification loss sums the positives and the hardest ``neg_pos_ratio`` x
        (positives) negatives; both losses are divided by ``num_total_samples`` (the batch's
        positives). Returns ``loss_cls`` (1,) and ``loss_bbox`` ().
        """
        loss_cls_all = F.cross_entropy(cls_score, labels, reduction='none') * label_weights
        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero(
            as_tuple=False).reshape(-1)
        neg_inds = (labels == self.num_classes).nonzero(as_tuple=False).view(-1)
        num_pos_samples = pos_inds.size(0)
        num_neg_samples = min(self.train_cfg.neg_pos_ratio * num_pos_samples, neg_inds.size(0))
        topk_loss_cls_neg, _ = loss_cls_all[neg_inds].topk(num_neg_samples)
        loss_cls = (loss_cls_all[pos_inds].sum() + topk_loss_cls_neg.sum()) / num_total_samples
        if self.reg_decoded_bbox:
            bbox_pred = self.bbox_coder.decode(anchor, bbox_pred)
        loss_bbox = smooth_l1_loss(bbox_pred, bbox_targets, bbox_weights,
                                   beta=self.train_cfg.smoothl1_beta,
                                   avg_factor=num_total_samples)
        return loss_cls[None], loss_bbox

    def loss(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None) -> Dict[str, List[Tensor]]:
        """Per-image ``loss_cls`` / ``loss_bbox`` lists of the outputs L x (N, ., H_l, W_l)."""
        if not self.train_cfg:
            raise ValueError('SSDHead.loss needs train_cfg (assigner, neg_pos_ratio, '
                             'smoothl1_beta, ...); set model.train_cfg in the config')
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels but the anchor generator has '
                             f'{self.prior_generator.num_levels}; make the neck output one map '
                             'per anchor_generator stride')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        targets = AnchorTargets(*self.get_targets(
            anchor_list, valid_flag_list, gt_bboxes, img_metas,
            gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
            label_channels=1, unmap_outputs=True))
        num_images = len(img_metas)
        all_cls_scores = torch.cat([
            s.permute(0, 2, 3, 1).reshape(num_images, -1, self.cls_out_channels)
            for s in cls_scores], 1)
        all_labels = torch.cat(targets.labels_list, -1).view(num_images, -1)
        all_label_weights = torch.cat(targets.label_weights_list, -1).view(num_images, -1)
        all_bbox_preds = torch.cat([
            b.permute(0, 2, 3, 1).reshape(num_images, -1, 4) for b in bbox_preds], -2)
        all_bbox_targets = torch.cat(targets.bbox_targets_list, -2).view(num_images, -1, 4)
        all_bbox_weights = torch.cat(targets.bbox_weights_list, -2).view(num_images, -1, 4)
        all_anchors = [torch.cat(anchors) for anchors in anchor_list]
        losses_cls, losses_bbox = multi_apply(
            self.loss_single, all_cls_scores, all_bbox_preds, all_anchors, all_labels,
            all_label_weights, all_bbox_targets, all_bbox_weights,
            num_total_samples=targets.num_total_pos)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)

"""YOLOXHead: YOLOX's decoupled anchor-free head with objectness and SimOTA (Ge et al., 2021),
mmdet 2.x.

Shape shorthand:
    N: images in the batch         L: levels (strides 8, 16, 32)
    C: classes (sigmoid, no background column)
    H_l, W_l: size of level l      P: sum_l H_l * W_l priors (one point per location)
    k: ground-truth boxes of one image; p: positives of one image

A prior is a point ``(x, y, stride_w, stride_h)`` at the top-left corner of its cell
(``MlvlPointGenerator(strides, offset=0)``). A box prediction ``(dx, dy, dw, dh)`` decodes to
the centre ``(x, y) + (dx, dy) * stride`` and size ``exp(dw, dh) * stride``.
"""
import copy
import math
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.config import ConfigDict
from mmengine.model import bias_init_with_prob
from torch import Tensor, nn

from ...core import (MlvlPointGenerator, bbox_xyxy_to_cxcywh, build_assigner, build_sampler,
                     multi_apply, reduce_mean)
from ...core.bbox.scale_factor import scale_factor_tensor
from ...core.utils.config import as_config
from ..builder import HEADS, build_loss
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import DenseCandidates, Detections
from .base_dense_head import BaseDenseHead


class YOLOXImageTargets(NamedTuple):
    """Of one image (``YOLOXHead._get_target_single``), over its P priors.

    ``foreground_mask`` (P,) bool; ``cls_target`` (p, C): one-hot times the IoU of the
    positive's prediction with its GT; ``obj_target`` (P, 1); ``bbox_target`` (p, 4) xyxy;
    ``l1_target`` (p, 4) (centre offset and log size, zeros unless ``use_l1``);
    ``num_pos_per_img``: p.
    """
    foreground_mask: Tensor
    cls_target: Tensor
    obj_target: Tensor
    bbox_target: Tensor
    l1_target: Tensor
    num_pos_per_img: int


@HEADS.register_module()
class YOLOXHead(BaseDenseHead):
    """Per level two ``stacked_convs`` towers (``multi_level_cls_convs``,
    ``multi_level_reg_convs``), then 1x1 predictors of classes (``multi_level_conv_cls``),
    boxes (``multi_level_conv_reg``) and objectness (``multi_level_conv_obj``, on the box
    tower).

    Args:
        num_classes: foreground classes.
        in_channels: channels of the input feature maps.
        feat_channels: hidden channels of the towers.
        stacked_convs: convs per tower.
        strides: stride of each level.
        use_depthwise: depth-wise separable tower convs.
        dcn_on_last_conv: the last tower conv is a modulated deformable conv (``DCNv2``).
        conv_bias: bias of the tower convs ('auto': only without a norm).
        conv_cfg / norm_cfg / act_cfg: of the tower convs.
        loss_cls / loss_bbox / loss_obj / loss_l1: class (soft IoU targets), IoU, objectness
            and (after ``use_l1`` is set by ``YOLOXModeSwitchHook``) L1 losses.
        train_cfg: ``assigner`` (``SimOTAAssigner``).
        test_cfg: ``score_thr``, ``nms`` (and ``max_per_img`` if given; 2.x ignored it).
        init_cfg: 2.x default: Kaiming-uniform convs; class and objectness biases at the prior
            probability 0.01 (:meth:`init_weights`).
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 stacked_convs: int = 2, strides: Sequence[int] = (8, 16, 32),
                 use_depthwise: bool = False, dcn_on_last_conv: bool = False,
                 conv_bias: Union[bool, str] = 'auto', conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 loss_cls: Optional[dict] = None, loss_bbox: Optional[dict] = None,
                 loss_obj: Optional[dict] = None, loss_l1: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if init_cfg is None:
            init_cfg = dict(type='Kaiming', layer='Conv2d', a=math.sqrt(5),
                            distribution='uniform', mode='fan_in', nonlinearity='leaky_relu')
        super().__init__(init_cfg=init_cfg)
        if norm_cfg is None:
            norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)
        if act_cfg is None:
            act_cfg = dict(type='Swish')
        if loss_cls is None:
            loss_cls = dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='sum',
                            loss_weight=1.0)
        if loss_bbox is None:
            loss_bbox = dict(type='IoULoss', mode='square', eps=1e-16, reduction='sum',
                             loss_weight=5.0)
        if loss_obj is None:
            loss_obj = dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='sum',
                            loss_weight=1.0)
        if loss_l1 is None:
            loss_l1 = dict(type='L1Loss', reduction='sum', loss_weight=1.0)
        if not (conv_bias == 'auto' or isinstance(conv_bias, bool)):
            raise ValueError(f"YOLOXHead: conv_bias must be 'auto', True or False, got "
                             f'{conv_bias!r}')
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.strides = strides
        self.use_depthwise = use_depthwise
        self.dcn_on_last_conv = dcn_on_last_conv
        self.conv_bias = conv_bias
        self.use_sigmoid_cls = True
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.loss_cls = build_loss(copy.deepcopy(loss_cls))
        self.loss_bbox = build_loss(copy.deepcopy(loss_bbox))
        self.loss_obj = build_loss(copy.deepcopy(loss_obj))
        # Switched on for the last epochs by YOLOXModeSwitchHook.
        self.use_l1 = False
        self.loss_l1 = build_loss(copy.deepcopy(loss_l1))
        self.prior_generator = MlvlPointGenerator(strides, offset=0)
        self.test_cfg = as_config(test_cfg)
        self.train_cfg = as_config(train_cfg)
        self.sampling = False
        if self.train_cfg:
            self.assigner = build_assigner(copy.deepcopy(self.train_cfg.assigner))
            self.sampler = build_sampler(dict(type='PseudoSampler'), context=self)
        self.fp16_enabled = False
        self._init_layers()

    def _init_layers(self) -> None:
        self.multi_level_cls_convs = nn.ModuleList()
        self.multi_level_reg_convs = nn.ModuleList()
        self.multi_level_conv_cls = nn.ModuleList()
        self.multi_level_conv_reg = nn.ModuleList()
        self.multi_level_conv_obj = nn.ModuleList()
        for _ in self.strides:
            self.multi_level_cls_convs.append(self._build_stacked_convs())
            self.multi_level_reg_convs.append(self._build_stacked_convs())
            conv_cls, conv_reg, conv_obj = self._build_predictor()
            self.multi_level_conv_cls.append(conv_cls)
            self.multi_level_conv_reg.append(conv_reg)
            self.multi_level_conv_obj.append(conv_obj)

    def _build_stacked_convs(self) -> nn.Sequential:
        """One level's tower of ``stacked_convs`` 3x3 convs."""
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        stacked_convs = []
        for i in range(self.stacked_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            if self.dcn_on_last_conv and i == self.stacked_convs - 1:
                conv_cfg = dict(type='DCNv2')
            else:
                conv_cfg = self.conv_cfg
            stacked_convs.append(conv(chn, self.feat_channels, 3, stride=1, padding=1,
                                      conv_cfg=conv_cfg, norm_cfg=self.norm_cfg,
                                      act_cfg=self.act_cfg, bias=self.conv_bias))
        return nn.Sequential(*stacked_convs)

    def _build_predictor(self) -> Tuple[nn.Conv2d, nn.Conv2d, nn.Conv2d]:
        """One level's 1x1 class, box and objectness predictors."""
        return (nn.Conv2d(self.feat_channels, self.cls_out_channels, 1),
                nn.Conv2d(self.feat_channels, 4, 1),
                nn.Conv2d(self.feat_channels, 1, 1))

    def init_weights(self) -> None:
        """``init_cfg``, then class and objectness biases at probability 0.01."""
        super().init_weights()
        bias_init = bias_init_with_prob(0.01)
        for conv_cls, conv_obj in zip(self.multi_level_conv_cls, self.multi_level_conv_obj):
            conv_cls.bias.data.fill_(bias_init)
            conv_obj.bias.data.fill_(bias_init)

    def forward_single(self, x: Tensor, cls_convs: nn.Module, reg_convs: nn.Module,
                       conv_cls: nn.Module, conv_reg: nn.Module,
                       conv_obj: nn.Module) -> Tuple[Tensor, Tensor, Tensor]:
        """Of one level: (N, C_in, H, W) → class logits (N, C, H, W), box predictions
        (N, 4, H, W), objectness logits (N, 1, H, W)."""
        cls_feat = cls_convs(x)
        reg_feat = reg_convs(x)
        return conv_cls(cls_feat), conv_reg(reg_feat), conv_obj(reg_feat)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor],
                                                        List[Tensor]]:
        """L feature maps → (cls_scores, bbox_preds, objectnesses), each a list over levels."""
        return multi_apply(self.forward_single, feats, self.multi_level_cls_convs,
                           self.multi_level_reg_convs, self.multi_level_conv_cls,
                           self.multi_level_conv_reg, self.multi_level_conv_obj)

    def _flatten(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                 objectnesses: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """All levels' logits as (N, P, C), box predictions (N, P, 4), objectness logits
        (N, P), and the priors (P, 4) ``(x, y, stride_w, stride_h)``."""
        if not len(cls_scores) == len(bbox_preds) == len(objectnesses):
            raise ValueError(f'{len(cls_scores)} levels of cls_scores, {len(bbox_preds)} of '
                             f'bbox_preds and {len(objectnesses)} of objectnesses')
        num_imgs = cls_scores[0].size(0)
        featmap_sizes = [cls_score.shape[2:] for cls_score in cls_scores]
        mlvl_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device,
            with_stride=True)
        flat_cls = torch.cat([s.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
                              for s in cls_scores], dim=1)
        flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4)
                               for b in bbox_preds], dim=1)
        flat_obj = torch.cat([o.permute(0, 2, 3, 1).reshape(num_imgs, -1)
                              for o in objectnesses], dim=1)
        return flat_cls, flat_bbox, flat_obj, torch.cat(mlvl_priors)

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   objectnesses: Sequence[Tensor], img_metas: Optional[List[dict]] = None,
                   cfg: Optional[dict] = None, rescale: bool = False,
                   with_nms: bool = True) -> List[Union[Detections, DenseCandidates]]:
        """Detections (or candidates) of each image.

        Each prior keeps its best class, scored class probability x objectness; priors
        scoring at least ``cfg.score_thr`` go to class-aware NMS.

        Args:
            cls_scores: L tensors (N, C, H_l, W_l).
            bbox_preds: L tensors (N, 4, H_l, W_l).
            objectnesses: L tensors (N, 1, H_l, W_l) (the base class's ``score_factors``).
            img_metas: N meta dicts (``scale_factor`` for ``rescale``).
            cfg: test config; default ``self.test_cfg``.
            rescale: map the boxes back to the original image size.
            with_nms: False returns the candidates before NMS.

        Returns:
            Per image ``Detections(det_bboxes (n, 5), det_labels (n,))`` with NMS, else
            ``DenseCandidates(bboxes (n, 4), scores (n,), labels (n,))``.
        """
        if img_metas is None:
            raise ValueError('get_bboxes needs img_metas (scale_factor per image)')
        cfg = self.resolve_test_cfg(cfg)
        flat_cls, flat_bbox, flat_obj, priors = self._flatten(cls_scores, bbox_preds,
                                                              objectnesses)
        flat_cls = flat_cls.sigmoid()
        flat_obj = flat_obj.sigmoid()
        flat_bboxes = self._bbox_decode(priors, flat_bbox)
        results = []
        for img_id, img_meta in enumerate(img_metas):
            bboxes = flat_bboxes[img_id]
            if rescale:
                bboxes = bboxes / scale_factor_tensor(img_meta['scale_factor'], bboxes)
            candidates = self._candidates_single(flat_cls[img_id], bboxes, flat_obj[img_id],
                                                 cfg)
            results.append(self._nms_detections(candidates, cfg) if with_nms else candidates)
        return results

    def _bbox_decode(self, priors: Tensor, bbox_preds: Tensor) -> Tensor:
        """Priors (P, 4) and predictions (..., P, 4) → xyxy boxes (..., P, 4)."""
        xys = bbox_preds[..., :2] * priors[:, 2:] + priors[:, :2]
        whs = bbox_preds[..., 2:].exp() * priors[:, 2:]
        return torch.cat([xys - whs / 2, xys + whs / 2], dim=-1)

    def _candidates_single(self, cls_scores: Tensor, bboxes: Tensor, score_factor: Tensor,
                           cfg: ConfigDict) -> DenseCandidates:
        """Of one image: probabilities (P, C), boxes (P, 4), objectness (P,) → each prior's
        best class if class probability x objectness >= ``cfg.score_thr``."""
        max_scores, labels = torch.max(cls_scores, 1)
        scores = max_scores * score_factor
        valid = scores >= cfg.score_thr
        return DenseCandidates(bboxes[valid], scores[valid], labels[valid])

    def loss(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
             objectnesses: Sequence[Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
             img_metas: List[dict], gt_bboxes_ignore: Optional[List[Tensor]] = None
             ) -> Dict[str, Tensor]:
        """``loss_cls``, ``loss_bbox``, ``loss_obj`` (and ``loss_l1`` when ``use_l1``), each
        summed over the batch and divided by the positives (at least 1).

        ``gt_bboxes_ignore`` is not supported (as 2.x).
        """
        if gt_bboxes_ignore is not None and any(g is not None and len(g) for g in
                                                gt_bboxes_ignore):
            raise ValueError('YOLOXHead does not use gt_bboxes_ignore (neither did 2.x); drop '
                             "'gt_bboxes_ignore' from the pipeline's Collect keys")
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        num_imgs = len(img_metas)
        flat_cls, flat_bbox, flat_obj, priors = self._flatten(cls_scores, bbox_preds,
                                                              objectnesses)
        flat_bboxes = self._bbox_decode(priors, flat_bbox)
        (pos_masks, cls_targets, obj_targets, bbox_targets, l1_targets,
         num_fg_imgs) = multi_apply(self._get_target_single, flat_cls.detach(),
                                    flat_obj.detach(), priors.unsqueeze(0).repeat(num_imgs, 1, 1),
                                    flat_bboxes.detach(), gt_bboxes, gt_labels)
        num_pos = torch.tensor(sum(num_fg_imgs), dtype=torch.float, device=flat_cls.device)
        num_total_samples = max(reduce_mean(num_pos), 1.0)
        pos_masks = torch.cat(pos_masks, 0)
        cls_targets = torch.cat(cls_targets, 0)
        obj_targets = torch.cat(obj_targets, 0)
        bbox_targets = torch.cat(bbox_targets, 0)
        loss_bbox = self.loss_bbox(flat_bboxes.view(-1, 4)[pos_masks],
                                   bbox_targets) / num_total_samples
        loss_obj = self.loss_obj(flat_obj.view(-1, 1), obj_targets) / num_total_samples
        loss_cls = self.loss_cls(flat_cls.view(-1, self.num_classes)[pos_masks],
                                 cls_targets) / num_total_samples
        losses = dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_obj=loss_obj)
        if self.use_l1:
            l1_targets = torch.cat(l1_targets, 0)
            losses['loss_l1'] = self.loss_l1(flat_bbox.view(-1, 4)[pos_masks],
                                             l1_targets) / num_total_samples
        return losses

    @torch.no_grad()
    def _get_target_single(self, cls_preds: Tensor, objectness: Tensor, priors: Tensor,
                           decoded_bboxes: Tensor, gt_bboxes: Tensor,
                           gt_labels: Tensor) -> YOLOXImageTargets:
        """Of one image: class logits (P, C), objectness logits (P,), priors (P, 4), decoded
        boxes (P, 4), gt_bboxes (k, 4), gt_labels (k,) → :class:`YOLOXImageTargets`.

        SimOTA assigns with the predicted scores and the priors moved to their cell centres.
        """
        num_priors = priors.size(0)
        num_gts = gt_labels.size(0)
        gt_bboxes = gt_bboxes.to(decoded_bboxes.dtype)
        if num_gts == 0:
            return YOLOXImageTargets(cls_preds.new_zeros(num_priors).bool(),
                                     cls_preds.new_zeros((0, self.num_classes)),
                                     cls_preds.new_zeros((num_priors, 1)),
                                     cls_preds.new_zeros((0, 4)), cls_preds.new_zeros((0, 4)), 0)
        offset_priors = torch.cat([priors[:, :2] + priors[:, 2:] * 0.5, priors[:, 2:]], dim=-1)
        assign_result = self.assigner.assign(
            cls_preds.sigmoid() * objectness.unsqueeze(1).sigmoid(), offset_priors,
            decoded_bboxes, gt_bboxes, gt_labels)
        sampling_result = self.sampler.sample(assign_result, priors, gt_bboxes)
        pos_inds = sampling_result.pos_inds
        num_pos_per_img = pos_inds.size(0)
        pos_ious = assign_result.max_overlaps[pos_inds]
        cls_target = F.one_hot(sampling_result.pos_gt_labels,
                               self.num_classes) * pos_ious.unsqueeze(-1)
        obj_target = torch.zeros_like(objectness).unsqueeze(-1)
        obj_target[pos_inds] = 1
        bbox_target = sampling_result.pos_gt_bboxes
        l1_target = cls_preds.new_zeros((num_pos_per_img, 4))
        if self.use_l1:
            l1_target = self._get_l1_target(l1_target, bbox_target, priors[pos_inds])
        foreground_mask = torch.zeros_like(objectness).to(torch.bool)
        foreground_mask[pos_inds] = 1
        return YOLOXImageTargets(foreground_mask, cls_target, obj_target, bbox_target,
                                 l1_target, num_pos_per_img)

    def _get_l1_target(self, l1_target: Tensor, gt_bboxes: Tensor, priors: Tensor,
                       eps: float = 1e-8) -> Tensor:
        """(p, 4) centre offsets from the priors in strides and log sizes in strides."""
        gt_cxcywh = bbox_xyxy_to_cxcywh(gt_bboxes)
        l1_target[:, :2] = (gt_cxcywh[:, :2] - priors[:, :2]) / priors[:, 2:]
        l1_target[:, 2:] = torch.log(gt_cxcywh[:, 2:] / priors[:, 2:] + eps)
        return l1_target

    def aug_test(self, feats: List[Sequence[Tensor]], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[Detections]:
        """Flip/scale TTA: see ``BBoxTestMixin.aug_test_bboxes``."""
        return self.aug_test_bboxes(feats, img_metas, rescale=rescale)

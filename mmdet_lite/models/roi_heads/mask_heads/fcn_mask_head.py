"""FCNMaskHead: Mask R-CNN's mask branch (4 convs, x2 deconv, per-class sigmoid logits).

Shapes: ``P`` RoIs, ``C`` foreground classes, ``(h, w)`` the pooled RoI size (14x14 by
default), ``(2h, 2w)`` the mask logits size (28x28), ``(H, W)`` the output image size.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.utils import _pair

from ....core.bbox.scale_factor import scale_factor_tensor
from ....core.mask.mask_target import mask_target
from ...builder import HEADS, build_loss
from ...layers.carafe import CARAFEPack
from ...layers.conv import build_conv_layer
from .mask_paste import paste_masks_grid_sample, paste_masks_torchvision

Tensor = torch.Tensor

BYTES_PER_FLOAT = 4
# The pasted masks of one chunk may use at most this much device memory (as mmdet 2.x).
GPU_MEM_LIMIT = 1024**3

_UPSAMPLE_METHODS = (None, 'deconv', 'nearest', 'bilinear', 'carafe')
_PASTE_MODES = ('grid_sample', 'torchvision')


def _do_paste_mask(masks: Tensor, boxes: Tensor, img_h: int, img_w: int,
                   skip_empty: bool = True):
    """mmdet 2.x's name for :func:`paste_masks_grid_sample`."""
    return paste_masks_grid_sample(masks, boxes, img_h, img_w, skip_empty=skip_empty)


@HEADS.register_module()
class FCNMaskHead(BaseModule):
    """Fully convolutional mask head.

    Args:
        num_convs: 3x3 ``ConvModule`` layers (``convs.i.conv``).
        roi_feat_size: side of the pooled RoI features.
        in_channels / conv_out_channels: channels of the input and of the convs.
        conv_kernel_size: kernel of the convs.
        num_classes: ``C``; ``conv_logits`` has C channels (1 when ``class_agnostic``).
        class_agnostic: one mask per RoI instead of one per class.
        upsample_cfg: ``dict(type='deconv'|'nearest'|'bilinear'|'carafe'|None, scale_factor=2)``
            ('carafe' takes CARAFEPack's arguments too, e.g. ``up_kernel=5``).
        conv_cfg / norm_cfg: for the ``ConvModule`` convs.
        predictor_cfg: the 1x1 logits conv (``dict(type='Conv')``, or e.g. ``NormedConv2d``).
        loss_mask: ``CrossEntropyLoss(use_mask=True)``: BCE on the GT class channel.
        mask_paste: 'grid_sample' (mmdet 2.x's pasting) or 'torchvision' (torchvision's
            ``paste_masks_in_image``), used by :meth:`get_seg_masks`.
    """

    def __init__(self,
                 num_convs: int = 4,
                 roi_feat_size: int = 14,
                 in_channels: int = 256,
                 conv_kernel_size: int = 3,
                 conv_out_channels: int = 256,
                 num_classes: int = 80,
                 class_agnostic: bool = False,
                 upsample_cfg: dict = dict(type='deconv', scale_factor=2),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 predictor_cfg: dict = dict(type='Conv'),
                 loss_mask: dict = dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0),
                 mask_paste: str = 'grid_sample',
                 init_cfg: Optional[dict] = None):
        if init_cfg is not None:
            raise ValueError('FCNMaskHead sets its own initialisation (Kaiming for upsample and '
                             'conv_logits); remove init_cfg from the mask_head config')
        super().__init__(init_cfg)
        upsample_cfg = dict(upsample_cfg)
        upsample_method = upsample_cfg.get('type')
        if upsample_method not in _UPSAMPLE_METHODS:
            raise ValueError(f'FCNMaskHead upsample_cfg type={upsample_method!r} is not '
                             f'supported; use one of {_UPSAMPLE_METHODS}')
        if mask_paste not in _PASTE_MODES:
            raise ValueError(f'FCNMaskHead mask_paste={mask_paste!r}; use one of {_PASTE_MODES}')
        self.upsample_cfg = upsample_cfg
        self.num_convs = num_convs
        self.roi_feat_size = _pair(roi_feat_size)
        self.in_channels = in_channels
        self.conv_kernel_size = conv_kernel_size
        self.conv_out_channels = conv_out_channels
        self.upsample_method = upsample_method
        self.scale_factor = upsample_cfg.get('scale_factor', 2)
        self.num_classes = num_classes
        self.class_agnostic = class_agnostic
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.predictor_cfg = dict(predictor_cfg)
        self.mask_paste = mask_paste
        self.fp16_enabled = False
        self.loss_mask = build_loss(loss_mask)

        self.convs = nn.ModuleList()
        padding = (conv_kernel_size - 1) // 2
        for i in range(num_convs):
            conv_in = in_channels if i == 0 else conv_out_channels
            self.convs.append(ConvModule(conv_in, conv_out_channels, conv_kernel_size,
                                         padding=padding, conv_cfg=conv_cfg, norm_cfg=norm_cfg))
        upsample_in_channels = conv_out_channels if num_convs > 0 else in_channels
        if upsample_method is None:
            self.upsample = None
        elif upsample_method == 'carafe':
            self.upsample = CARAFEPack(upsample_in_channels, self.scale_factor, **{
                k: v for k, v in upsample_cfg.items() if k not in ('type', 'scale_factor')})
        elif upsample_method == 'deconv':
            self.upsample = nn.ConvTranspose2d(upsample_in_channels, conv_out_channels,
                                               kernel_size=self.scale_factor,
                                               stride=self.scale_factor)
        else:
            align_corners = None if upsample_method == 'nearest' else False
            self.upsample = nn.Upsample(scale_factor=self.scale_factor, mode=upsample_method,
                                        align_corners=align_corners)
        out_channels = 1 if class_agnostic else num_classes
        logits_in_channel = (conv_out_channels if upsample_method == 'deconv'
                             else upsample_in_channels)
        self.conv_logits = build_conv_layer(self.predictor_cfg, logits_in_channel, out_channels,
                                            1)
        self.relu = nn.ReLU(inplace=True)
        self.debug_imgs = None

    def init_weights(self) -> None:
        super().init_weights()
        for module in (self.upsample, self.conv_logits):
            if module is None or not hasattr(module, 'weight'):
                continue
            nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
            nn.init.constant_(module.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        """x (P, in_channels, h, w) -> mask logits (P, C or 1, 2h, 2w)."""
        for conv in self.convs:
            x = conv(x)
        return self.forward_logits(x)

    def forward_logits(self, x: Tensor) -> Tensor:
        """Features after the convs (P, conv_out_channels, h, w) -> upsampled logits
        (P, C or 1, 2h, 2w)."""
        if self.upsample is not None:
            x = self.upsample(x)
            if self.upsample_method == 'deconv':
                x = self.relu(x)
        return self.conv_logits(x)

    def get_targets(self, sampling_results: Sequence, gt_masks: Sequence,
                    rcnn_train_cfg) -> Tensor:
        """Mask targets (sum P, 2h, 2w) of the positive RoIs of every image."""
        pos_proposals = [res.pos_bboxes for res in sampling_results]
        pos_assigned_gt_inds = [res.pos_assigned_gt_inds for res in sampling_results]
        return mask_target(pos_proposals, pos_assigned_gt_inds, gt_masks, rcnn_train_cfg)

    def loss(self, mask_pred: Tensor, mask_targets: Tensor, labels: Tensor) -> dict:
        """``loss_mask``: mean BCE of the logits of each RoI's GT class (P, C, 2h, 2w)."""
        if mask_pred.size(0) == 0:
            loss_mask = mask_pred.sum() * 0.
        elif self.class_agnostic:
            loss_mask = self.loss_mask(mask_pred, mask_targets, torch.zeros_like(labels))
        else:
            loss_mask = self.loss_mask(mask_pred, mask_targets, labels)
        return dict(loss_mask=loss_mask)

    def get_seg_masks(self, mask_pred: Union[Tensor, np.ndarray], det_bboxes: Tensor,
                      det_labels: Tensor, rcnn_test_cfg, ori_shape: Sequence[int],
                      scale_factor, rescale: bool) -> List[List[np.ndarray]]:
        """Of one image: binary masks at the output image size, grouped by class.

        Args:
            mask_pred: (n, C or 1, 2h, 2w) logits (Tensor) or probabilities (ndarray, aug test).
            det_bboxes: (n, 4 or 5) boxes in the resized image frame (times ``scale_factor``
                of the original frame).
            det_labels: (n,) class of each box.
            rcnn_test_cfg: reads ``mask_thr_binary`` (< 0 keeps uint8 probabilities x 255).
            ori_shape: (H, W[, c]) of the original image.
            scale_factor: [w_scale, h_scale, w_scale, h_scale] of resized / original.
            rescale: paste at the original size (boxes divided by ``scale_factor``); otherwise
                at the resized size ``round(ori_shape * scale)``.
        Returns:
            ``cls_segms[c]``: list of ndarray (H, W) bool (uint8 when mask_thr_binary < 0).
        """
        if isinstance(mask_pred, Tensor):
            mask_prob = mask_pred.sigmoid()
        else:
            mask_prob = det_bboxes.new_tensor(mask_pred)
        device = mask_prob.device
        cls_segms: List[List[np.ndarray]] = [[] for _ in range(self.num_classes)]
        bboxes = det_bboxes[:, :4]
        labels = det_labels
        scale = scale_factor_tensor(scale_factor, bboxes)
        if rescale:
            img_h, img_w = int(ori_shape[0]), int(ori_shape[1])
            bboxes = bboxes / scale
        else:
            img_h = int(np.round(ori_shape[0] * float(scale[1])))
            img_w = int(np.round(ori_shape[1] * float(scale[0])))
        num = len(mask_prob)
        if num == 0:
            return cls_segms
        if not self.class_agnostic:
            mask_prob = mask_prob[torch.arange(num, device=device), labels.to(device)][:, None]
        threshold = rcnn_test_cfg['mask_thr_binary'] if rcnn_test_cfg is not None else 0.5
        out_dtype = torch.bool if threshold >= 0 else torch.uint8
        im_mask = torch.zeros(num, img_h, img_w, device=device, dtype=out_dtype)

        if self.mask_paste == 'torchvision' and threshold >= 0:
            # Binarised box by box straight into im_mask: no full-image float masks.
            paste_masks_torchvision(mask_prob, bboxes, img_h, img_w, out=im_mask,
                                    threshold=threshold)
            chunks = []
        elif self.mask_paste == 'torchvision':
            chunks = [torch.arange(num, device=device)]
        elif device.type == 'cpu':
            # On CPU each box pastes only its own region, one box at a time (fast, little memory).
            chunks = torch.chunk(torch.arange(num, device=device), num)
        else:
            num_chunks = int(np.ceil(num * img_h * img_w * BYTES_PER_FLOAT / GPU_MEM_LIMIT))
            chunks = torch.chunk(torch.arange(num, device=device), min(max(num_chunks, 1), num))
        for inds in chunks:
            if self.mask_paste == 'torchvision':
                masks_chunk = paste_masks_torchvision(mask_prob[inds], bboxes[inds], img_h, img_w)
                spatial_inds: tuple = ()
            else:
                masks_chunk, spatial_inds = paste_masks_grid_sample(
                    mask_prob[inds], bboxes[inds], img_h, img_w, skip_empty=device.type == 'cpu')
            if threshold >= 0:
                masks_chunk = masks_chunk >= threshold
            else:
                masks_chunk = (masks_chunk * 255).to(torch.uint8)
            im_mask[(inds, ) + spatial_inds] = masks_chunk
        im_mask_np = im_mask.cpu().numpy()
        for i, label in enumerate(labels.tolist()):
            cls_segms[label].append(im_mask_np[i])
        return cls_segms

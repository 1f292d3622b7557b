"""Run a torchvision Faster/Mask R-CNN or RetinaNet on a batch that mmdet_lite's pipeline
already prepared.

torchvision's ``GeneralizedRCNNTransform`` normalises, resizes and pads inside the model; an
mmdet_lite batch is already normalised, resized and padded. :func:`torchvision_detect` runs the
same steps as ``GeneralizedRCNN.forward`` / ``RetinaNet.forward`` in eval mode (backbone, RPN
and RoI heads or the dense head and its post-processing, then the transform's ``postprocess``
that rescales boxes and pastes masks) with that first step skipped, so both libraries see the
very same input tensor.

Shapes: ``N`` images, ``(H, W)`` the padded batch size, ``n`` detections of one image.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .torchvision_convert import default_class_ids, torchvision_labels_to_mmdet

Tensor = torch.Tensor

__all__ = ['TORCHVISION_KINDS', 'build_torchvision_detector', 'torchvision_detect',
           'torchvision_kind_of', 'torchvision_to_mmdet_results']

#: mmdet_lite detector type -> the torchvision model with the same architecture.
TORCHVISION_KINDS = dict(MaskRCNN='maskrcnn_resnet50_fpn', FasterRCNN='fasterrcnn_resnet50_fpn',
                         RetinaNet='retinanet_resnet50_fpn')


def torchvision_kind_of(model: nn.Module) -> str:
    """The name of torchvision's twin of an mmdet_lite detector (a TORCHVISION_KINDS value)."""
    name = type(model).__name__
    if name not in TORCHVISION_KINDS:
        raise ValueError(f'{name} has no torchvision twin; the torchvision comparison covers '
                         f'{sorted(TORCHVISION_KINDS)} (configs/torchvision/)')
    return TORCHVISION_KINDS[name]


def build_torchvision_detector(with_mask: bool = False, num_classes: int = 91,
                               kind: Optional[str] = None) -> nn.Module:
    """torchvision's ``{mask,faster}rcnn_resnet50_fpn`` (by ``with_mask``) or the model named
    ``kind`` (a TORCHVISION_KINDS value, e.g. ``'retinanet_resnet50_fpn'``), without weights, in
    eval mode.

    No file is downloaded: ``weights=None, weights_backbone=None``. Load weights afterwards
    with ``load_state_dict``.
    """
    from torchvision.models import detection
    if kind is None:
        kind = 'maskrcnn_resnet50_fpn' if with_mask else 'fasterrcnn_resnet50_fpn'
    if kind not in TORCHVISION_KINDS.values():
        raise ValueError(f'kind={kind!r}; use one of {sorted(TORCHVISION_KINDS.values())}')
    model = getattr(detection, kind)(weights=None, weights_backbone=None,
                                     num_classes=num_classes)
    return model.eval()


@torch.no_grad()
def torchvision_detect(model: nn.Module, img: Tensor, image_sizes: Sequence[Tuple[int, int]],
                       original_sizes: Optional[Sequence[Tuple[int, int]]] = None
                       ) -> List[Dict[str, Tensor]]:
    """torchvision detections of a normalised, padded batch ``img`` (N, 3, H, W).

    Args:
        model: a torchvision ``GeneralizedRCNN`` (Faster / Mask R-CNN) or ``RetinaNet`` in eval
            mode.
        img: the batch, exactly as mmdet_lite's pipeline gives it.
        image_sizes: (h, w) of each image inside the padding (mmdet's ``img_shape[:2]``).
        original_sizes: (h, w) to rescale boxes and paste masks to; default ``image_sizes``.

    Returns:
        per image ``dict(boxes (n, 4), scores (n,), labels (n,) 1-based, masks (n, 1, h, w)
        probabilities)`` as torchvision's ``forward`` returns them.
    """
    from torchvision.models.detection.image_list import ImageList
    from torchvision.models.detection.retinanet import RetinaNet
    if model.training:
        raise RuntimeError('torchvision_detect runs inference only; call model.eval() first')
    if img.dim() != 4 or img.size(0) != len(image_sizes):
        raise ValueError(f'img must be (N, 3, H, W) with N = len(image_sizes) = '
                         f'{len(image_sizes)}, got shape {tuple(img.shape)}')
    sizes = [(int(h), int(w)) for h, w in image_sizes]
    originals = sizes if original_sizes is None else [(int(h), int(w))
                                                      for h, w in original_sizes]
    images = ImageList(img, sizes)
    features = model.backbone(images.tensors)
    if isinstance(model, RetinaNet):
        detections = _retinanet_detections(model, images, list(features.values()))
    else:
        proposals, _ = model.rpn(images, features)
        detections, _ = model.roi_heads(features, proposals, images.image_sizes)
    return model.transform.postprocess(detections, images.image_sizes, originals)


def _retinanet_detections(model: nn.Module, images, features: List[Tensor]
                          ) -> List[Dict[str, Tensor]]:
    """``RetinaNet.forward``'s eval branch: head, anchors, split per level, post-process."""
    head_outputs = model.head(features)
    anchors = model.anchor_generator(images, features)
    hw_per_level = [x.size(2) * x.size(3) for x in features]
    num_anchors = head_outputs['cls_logits'].size(1) // sum(hw_per_level)
    per_level = [hw * num_anchors for hw in hw_per_level]
    split_outputs = {k: list(v.split(per_level, dim=1)) for k, v in head_outputs.items()}
    split_anchors = [list(a.split(per_level)) for a in anchors]
    return model.postprocess_detections(split_outputs, split_anchors, images.image_sizes)


def torchvision_to_mmdet_results(detections: Sequence[Dict[str, Tensor]], num_classes: int = 80,
                                 class_ids: Optional[Sequence[int]] = None,
                                 num_tv_classes: int = 91, mask_thr: float = 0.5) -> list:
    """torchvision detections in mmdet_lite's result format (docs/conventions.md §3).

    Per image ``bbox_results`` (list over classes of ndarray (k, 5)), or
    ``(bbox_results, segm_results)`` when the detections carry masks (binarised at ``mask_thr``).
    Detections of torchvision classes not in ``class_ids`` are dropped.
    """
    if class_ids is None:
        class_ids = default_class_ids(num_tv_classes)
    results = []
    for det in detections:
        labels = torchvision_labels_to_mmdet(det['labels'], class_ids, num_tv_classes)
        kept = labels >= 0
        labels = labels[kept].cpu().numpy()
        dets = torch.cat([det['boxes'][kept], det['scores'][kept, None]], dim=1).cpu().numpy()
        bbox_results = [dets[labels == c].astype(np.float32) for c in range(num_classes)]
        if 'masks' not in det:
            results.append(bbox_results)
            continue
        masks = (det['masks'][kept, 0] > mask_thr).cpu().numpy()
        segm_results = [list(masks[labels == c]) for c in range(num_classes)]
        results.append((bbox_results, segm_results))
    return results

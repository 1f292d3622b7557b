"""Convert torchvision Faster/Mask R-CNN and RetinaNet R50-FPN weights into mmdet_lite
(mmdetection 2.x) names.

torchvision's ``fasterrcnn_resnet50_fpn`` / ``maskrcnn_resnet50_fpn`` /
``retinanet_resnet50_fpn`` state dicts map onto the modules that
``configs/torchvision/{faster,mask}_rcnn_r50_fpn_tv.py`` / ``retinanet_r50_fpn_tv.py`` build:

* ``backbone.body.*`` (BatchNorm2d or FrozenBatchNorm2d) → ``backbone.*`` (BN; a missing
  ``num_batches_tracked`` is added as 0)
* ``backbone.fpn.inner_blocks.i[.0]`` → ``neck.lateral_convs.i.conv``
* ``backbone.fpn.layer_blocks.i[.0]`` → ``neck.fpn_convs.i.conv``
* ``rpn.head.conv[.0.0]`` / ``cls_logits`` / ``bbox_pred`` → ``rpn_head.rpn_conv`` /
  ``rpn_cls`` / ``rpn_reg``
* ``roi_heads.box_head.fc6`` / ``fc7`` → ``roi_head.bbox_head.shared_fcs.0`` / ``.1``
* ``roi_heads.box_predictor.cls_score`` (K + 1 rows, background first) →
  ``roi_head.bbox_head.fc_cls`` (C + 1 rows, background last)
* ``roi_heads.box_predictor.bbox_pred`` (4 (K + 1) rows) → ``roi_head.bbox_head.fc_reg``
  (4 C rows)
* ``roi_heads.mask_head.i[.0]`` / ``mask_fcn{i+1}`` → ``roi_head.mask_head.convs.i.conv``
* ``roi_heads.mask_predictor.conv5_mask`` → ``roi_head.mask_head.upsample``
* ``roi_heads.mask_predictor.mask_fcn_logits`` (K + 1) → ``roi_head.mask_head.conv_logits`` (C)
* RetinaNet: ``backbone.fpn.extra_blocks.p6`` / ``p7`` → ``neck.fpn_convs.3`` / ``.4``;
  ``head.classification_head.conv.i[.0]`` / ``head.regression_head.conv.i[.0]`` →
  ``bbox_head.cls_convs.i.conv`` / ``bbox_head.reg_convs.i.conv``;
  ``head.classification_head.cls_logits`` (A (K + 1) rows, anchor-major) →
  ``bbox_head.retina_cls`` (A C rows: sigmoid scores, so dropping classes is exact);
  ``head.regression_head.bbox_reg`` → ``bbox_head.retina_reg``

Class layout: torchvision's COCO models have 91 outputs, index 0 the background and indices
1..90 the COCO category ids, ten of which are unused ('N/A'). mmdet_lite keeps the 80 used ids
in ascending order (= mmdetection's ``CocoDataset.CLASSES``) and puts the background last.
Dropping the ten unused rows changes the softmax denominator by their ``exp(logit)``: exact
when those logits underflow (a COCO-trained model pushes them far below the others), otherwise
scores differ by that relative amount.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from ..checkpoint import unwrap_state_dict

Tensor = torch.Tensor

__all__ = [
    'ABSENT_CLASS_BIAS', 'TV_COCO_CATEGORIES', 'coco_class_ids',
    'convert_mmdet_to_torchvision_state_dict', 'default_class_ids',
    'convert_torchvision_state_dict', 'torchvision_to_mmdet_checkpoint',
    'torchvision_labels_to_mmdet',
]


def _tv_coco_categories() -> Tuple[str, ...]:
    from torchvision.models._meta import _COCO_CATEGORIES
    return tuple(_COCO_CATEGORIES)


#: torchvision's 91 COCO output names: '__background__', then category ids 1..90 ('N/A' unused).
TV_COCO_CATEGORIES: Tuple[str, ...] = _tv_coco_categories()


def coco_class_ids() -> List[int]:
    """The 80 torchvision class indices of COCO's used categories, ascending."""
    return [i for i, name in enumerate(TV_COCO_CATEGORIES) if i > 0 and name != 'N/A']


def default_class_ids(num_tv_classes: int) -> List[int]:
    """Kept torchvision indices: COCO's 80 used ids for a 91-output predictor, else 1..K."""
    if num_tv_classes == len(TV_COCO_CATEGORIES):
        return coco_class_ids()
    return list(range(1, num_tv_classes))


# (pattern on the torchvision key, replacement) applied in order; the first match wins.
# Optional ``(\.0)?`` groups accept both the current Conv2dNormActivation names and the
# pre-0.13 names of the published COCO checkpoints.
_RULES: Sequence[Tuple[str, str]] = (
    (r'^backbone\.body\.(.*)$', r'backbone.\1'),
    (r'^backbone\.fpn\.inner_blocks\.(\d+)(?:\.0)?\.(weight|bias)$',
     r'neck.lateral_convs.\1.conv.\2'),
    (r'^backbone\.fpn\.layer_blocks\.(\d+)(?:\.0)?\.(weight|bias)$', r'neck.fpn_convs.\1.conv.\2'),
    (r'^rpn\.head\.conv(?:\.0\.0)?\.(weight|bias)$', r'rpn_head.rpn_conv.\1'),
    (r'^rpn\.head\.cls_logits\.(weight|bias)$', r'rpn_head.rpn_cls.\1'),
    (r'^rpn\.head\.bbox_pred\.(weight|bias)$', r'rpn_head.rpn_reg.\1'),
    (r'^roi_heads\.box_head\.fc6\.(weight|bias)$', r'roi_head.bbox_head.shared_fcs.0.\1'),
    (r'^roi_heads\.box_head\.fc7\.(weight|bias)$', r'roi_head.bbox_head.shared_fcs.1.\1'),
    (r'^roi_heads\.box_predictor\.cls_score\.(weight|bias)$', r'roi_head.bbox_head.fc_cls.\1'),
    (r'^roi_heads\.box_predictor\.bbox_pred\.(weight|bias)$', r'roi_head.bbox_head.fc_reg.\1'),
    (r'^roi_heads\.mask_head\.(\d+)\.0\.(weight|bias)$', r'roi_head.mask_head.convs.\1.conv.\2'),
    (r'^roi_heads\.mask_predictor\.conv5_mask\.(weight|bias)$', r'roi_head.mask_head.upsample.\1'),
    (r'^roi_heads\.mask_predictor\.mask_fcn_logits\.(weight|bias)$',
     r'roi_head.mask_head.conv_logits.\1'),
    (r'^backbone\.fpn\.extra_blocks\.p6\.(weight|bias)$', r'neck.fpn_convs.3.conv.\1'),
    (r'^backbone\.fpn\.extra_blocks\.p7\.(weight|bias)$', r'neck.fpn_convs.4.conv.\1'),
    (r'^head\.classification_head\.conv\.(\d+)\.0\.(weight|bias)$',
     r'bbox_head.cls_convs.\1.conv.\2'),
    (r'^head\.regression_head\.conv\.(\d+)\.0\.(weight|bias)$',
     r'bbox_head.reg_convs.\1.conv.\2'),
    (r'^head\.classification_head\.cls_logits\.(weight|bias)$', r'bbox_head.retina_cls.\1'),
    (r'^head\.regression_head\.bbox_reg\.(weight|bias)$', r'bbox_head.retina_reg.\1'),
)
# RetinaNet's extra FPN levels and head, mmdet_lite key -> torchvision key (tried first).
_INVERSE_RETINA_RULES: Sequence[Tuple[str, str]] = (
    (r'^neck\.fpn_convs\.3\.conv\.(weight|bias)$', r'backbone.fpn.extra_blocks.p6.\1'),
    (r'^neck\.fpn_convs\.4\.conv\.(weight|bias)$', r'backbone.fpn.extra_blocks.p7.\1'),
    (r'^bbox_head\.cls_convs\.(\d+)\.conv\.(weight|bias)$',
     r'head.classification_head.conv.\1.0.\2'),
    (r'^bbox_head\.reg_convs\.(\d+)\.conv\.(weight|bias)$',
     r'head.regression_head.conv.\1.0.\2'),
    (r'^bbox_head\.retina_cls\.(weight|bias)$', r'head.classification_head.cls_logits.\1'),
    (r'^bbox_head\.retina_reg\.(weight|bias)$', r'head.regression_head.bbox_reg.\1'),
)
# mmdet_lite key -> torchvision key (current torchvision names), for the way back.
_INVERSE_RULES: Sequence[Tuple[str, str]] = (
    (r'^backbone\.(.*)$', r'backbone.body.\1'),
    (r'^neck\.lateral_convs\.(\d+)\.conv\.(weight|bias)$', r'backbone.fpn.inner_blocks.\1.0.\2'),
    (r'^neck\.fpn_convs\.(\d+)\.conv\.(weight|bias)$', r'backbone.fpn.layer_blocks.\1.0.\2'),
    (r'^rpn_head\.rpn_conv\.(weight|bias)$', r'rpn.head.conv.0.0.\1'),
    (r'^rpn_head\.rpn_cls\.(weight|bias)$', r'rpn.head.cls_logits.\1'),
    (r'^rpn_head\.rpn_reg\.(weight|bias)$', r'rpn.head.bbox_pred.\1'),
    (r'^roi_head\.bbox_head\.shared_fcs\.0\.(weight|bias)$', r'roi_heads.box_head.fc6.\1'),
    (r'^roi_head\.bbox_head\.shared_fcs\.1\.(weight|bias)$', r'roi_heads.box_head.fc7.\1'),
    (r'^roi_head\.bbox_head\.fc_cls\.(weight|bias)$', r'roi_heads.box_predictor.cls_score.\1'),
    (r'^roi_head\.bbox_head\.fc_reg\.(weight|bias)$', r'roi_heads.box_predictor.bbox_pred.\1'),
    (r'^roi_head\.mask_head\.convs\.(\d+)\.conv\.(weight|bias)$', r'roi_heads.mask_head.\1.0.\2'),
    (r'^roi_head\.mask_head\.upsample\.(weight|bias)$', r'roi_heads.mask_predictor.conv5_mask.\1'),
    (r'^roi_head\.mask_head\.conv_logits\.(weight|bias)$',
     r'roi_heads.mask_predictor.mask_fcn_logits.\1'),
)
_LEGACY_MASK_FCN = re.compile(r'^roi_heads\.mask_head\.mask_fcn(\d+)\.(weight|bias)$')
# torchvision < 0.13 RetinaNet heads: conv = Sequential(Conv2d, ReLU, Conv2d, ReLU, ...).
_LEGACY_RETINA_CONV = re.compile(
    r'^head\.(classification|regression)_head\.conv\.(\d+)\.(weight|bias)$')
_RETINA_CLS_KEY = 'head.classification_head.cls_logits.weight'
_RETINA_REG_KEY = 'head.regression_head.bbox_reg.weight'
_RCNN_CLS_KEY = 'roi_heads.box_predictor.cls_score.weight'


def _rename(tv_key: str) -> str:
    legacy = _LEGACY_MASK_FCN.match(tv_key)
    if legacy is not None:
        return f'roi_head.mask_head.convs.{int(legacy.group(1)) - 1}.conv.{legacy.group(2)}'
    legacy = _LEGACY_RETINA_CONV.match(tv_key)
    if legacy is not None:
        branch = 'cls' if legacy.group(1) == 'classification' else 'reg'
        return f'bbox_head.{branch}_convs.{int(legacy.group(2)) // 2}.conv.{legacy.group(3)}'
    for pattern, replacement in _RULES:
        if re.match(pattern, tv_key):
            return re.sub(pattern, replacement, tv_key)
    raise KeyError(
        f"torchvision key '{tv_key}' has no mmdet_lite counterpart: only the modules of "
        'fasterrcnn_resnet50_fpn / maskrcnn_resnet50_fpn / retinanet_resnet50_fpn convert (no '
        'keypoint head, no v2 models with conv box heads, normed FPN or GN heads)')


def _num_tv_classes(src: Mapping[str, Tensor]) -> Tuple[int, int]:
    """(torchvision classes K + 1 with the background, anchors per location A or 0 for R-CNN)."""
    if _RCNN_CLS_KEY in src:
        return src[_RCNN_CLS_KEY].shape[0], 0
    if _RETINA_CLS_KEY in src and _RETINA_REG_KEY in src:
        num_anchors = src[_RETINA_REG_KEY].shape[0] // 4
        return src[_RETINA_CLS_KEY].shape[0] // num_anchors, num_anchors
    raise KeyError(f"neither '{_RCNN_CLS_KEY}' nor '{_RETINA_CLS_KEY}' + '{_RETINA_REG_KEY}' "
                   'is in the state dict: this is not a torchvision Faster/Mask R-CNN or '
                   f'RetinaNet state dict (first keys: {list(src)[:3]})')


def _check_class_ids(class_ids: Sequence[int], num_tv_classes: int) -> List[int]:
    ids = [int(i) for i in class_ids]
    bad = [i for i in ids if not 1 <= i < num_tv_classes]
    if bad:
        raise ValueError(f'class_ids {bad} are outside 1..{num_tv_classes - 1}: torchvision index '
                         '0 is the background and the predictor has '
                         f'{num_tv_classes} outputs')
    if len(set(ids)) != len(ids):
        raise ValueError(f'class_ids {ids} repeat an index; list each kept class once')
    return ids


def convert_torchvision_state_dict(
        tv_state_dict: Mapping[str, Tensor],
        class_ids: Optional[Sequence[int]] = None) -> 'OrderedDict[str, Tensor]':
    """Rename and re-lay-out a torchvision Faster/Mask R-CNN R50-FPN state dict.

    Args:
        tv_state_dict: torchvision's ``model.state_dict()`` (or a checkpoint holding it under
            'model' / 'state_dict'; a DataParallel 'module.' prefix is stripped).
        class_ids: torchvision class indices (1-based; 0 = background) to keep, in the order
            of mmdet_lite's labels. Default: the 80 used COCO ids when the predictor has 91
            outputs, else every index 1..K.

    Returns:
        mmdet_lite state dict (new tensors; the input is not modified).
    """
    src = unwrap_state_dict(tv_state_dict)
    if not src:
        raise ValueError('the torchvision state dict is empty; pass model.state_dict() of a '
                         'fasterrcnn_resnet50_fpn / maskrcnn_resnet50_fpn')
    src = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                      for k, v in src.items())
    num_tv_classes, num_anchors = _num_tv_classes(src)
    if class_ids is None:
        class_ids = default_class_ids(num_tv_classes)
    ids = torch.as_tensor(_check_class_ids(class_ids, num_tv_classes), dtype=torch.long)
    cls_rows = torch.cat([ids, ids.new_zeros(1)])  # foreground classes, then background last
    reg_rows = (ids[:, None] * 4 + torch.arange(4)).reshape(-1)
    # RetinaNet's logits: anchor-major, then class (A * (K + 1) rows).
    retina_rows = (torch.arange(num_anchors)[:, None] * num_tv_classes + ids).reshape(-1)

    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for tv_key, value in src.items():
        new_key = _rename(tv_key)
        if new_key.startswith('roi_head.bbox_head.fc_cls.'):
            value = value[cls_rows]
        elif new_key.startswith('roi_head.bbox_head.fc_reg.'):
            value = value[reg_rows]
        elif new_key.startswith('roi_head.mask_head.conv_logits.'):
            value = value[ids]
        elif new_key.startswith('bbox_head.retina_cls.'):
            value = value[retina_rows]
        out[new_key] = value.detach().clone()
        # FrozenBatchNorm2d has no counter; mmdet's BN does, and strict loading wants it.
        if tv_key.startswith('backbone.body.') and tv_key.endswith('.running_var'):
            tv_counter = tv_key[:-len('running_var')] + 'num_batches_tracked'
            if tv_counter not in src:
                out[new_key[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(0)
    return out


def _class_names(class_ids: Sequence[int], num_tv_classes: int,
                 class_names: Optional[Sequence[str]]) -> Tuple[str, ...]:
    if class_names is not None:
        if len(class_names) != len(class_ids):
            raise ValueError(f'{len(class_names)} class_names for {len(class_ids)} class_ids; '
                             'give one name per kept class')
        return tuple(class_names)
    if num_tv_classes == len(TV_COCO_CATEGORIES):
        return tuple(TV_COCO_CATEGORIES[i] for i in class_ids)
    return tuple(f'class_{i}' for i in class_ids)


def torchvision_to_mmdet_checkpoint(tv_state_dict: Mapping[str, Tensor],
                                    class_ids: Optional[Sequence[int]] = None,
                                    class_names: Optional[Sequence[str]] = None) -> Dict:
    """An mmdet_lite checkpoint ``dict(meta=dict(CLASSES=...), state_dict=...)``.

    ``meta['torchvision_class_ids']`` records which torchvision index each label came from.
    See :func:`convert_torchvision_state_dict` for the arguments.
    """
    state_dict = convert_torchvision_state_dict(tv_state_dict, class_ids)
    src = unwrap_state_dict(tv_state_dict)
    src = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in src.items()}
    num_tv_classes, num_anchors = _num_tv_classes(src)
    class_ids = [int(i) for i in (default_class_ids(num_tv_classes)
                                  if class_ids is None else class_ids)]
    meta = dict(CLASSES=_class_names(class_ids, num_tv_classes, class_names),
                torchvision_class_ids=class_ids,
                converted_from=('torchvision RetinaNet R50-FPN' if num_anchors else
                                'torchvision Faster/Mask R-CNN R50-FPN'),
                with_mask='roi_head.mask_head.conv_logits.weight' in state_dict)
    return dict(meta=meta, state_dict=state_dict)


def torchvision_labels_to_mmdet(labels: Tensor, class_ids: Optional[Sequence[int]] = None,
                                num_tv_classes: int = 91) -> Tensor:
    """Map torchvision labels (1-based, (n,)) to mmdet_lite labels (0-based); -1 = not kept."""
    if class_ids is None:
        class_ids = default_class_ids(num_tv_classes)
    lut = torch.full((num_tv_classes,), -1, dtype=torch.long, device=labels.device)
    lut[torch.as_tensor(list(class_ids), dtype=torch.long, device=labels.device)] = torch.arange(
        len(class_ids), device=labels.device)
    return lut[labels.long()]


#: Bias given to torchvision classes that mmdet_lite does not have, so they never score.
ABSENT_CLASS_BIAS = -1e4


def convert_mmdet_to_torchvision_state_dict(
        state_dict: Mapping[str, Tensor], class_ids: Optional[Sequence[int]] = None,
        num_tv_classes: int = 91) -> 'OrderedDict[str, Tensor]':
    """The way back: an mmdet_lite R50-FPN R-CNN or RetinaNet state dict in torchvision's layout.

    Args:
        state_dict: mmdet_lite state dict (or a checkpoint holding it under 'state_dict').
        class_ids: the torchvision index of each mmdet_lite label (``meta
            ['torchvision_class_ids']`` of a converted checkpoint); default
            :func:`default_class_ids` of ``num_tv_classes``.
        num_tv_classes: outputs of torchvision's predictor, background included.

    Rows of torchvision classes outside ``class_ids`` (COCO's unused ids) get zero weights
    and a bias of ``ABSENT_CLASS_BIAS``: their softmax (RetinaNet: sigmoid) probability
    underflows to exactly 0.
    """
    src = unwrap_state_dict(state_dict)
    if class_ids is None:
        class_ids = default_class_ids(num_tv_classes)
    ids = torch.as_tensor(_check_class_ids(class_ids, num_tv_classes), dtype=torch.long)
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    retina = 'bbox_head.retina_cls.weight' in src
    rules = tuple(_INVERSE_RETINA_RULES) + tuple(_INVERSE_RULES) if retina else _INVERSE_RULES
    if retina:
        num_anchors = src['bbox_head.retina_reg.weight'].shape[0] // 4
        retina_rows = (torch.arange(num_anchors)[:, None] * num_tv_classes + ids).reshape(-1)
    for mm_key, value in src.items():
        for pattern, replacement in rules:
            if re.match(pattern, mm_key):
                tv_key = re.sub(pattern, replacement, mm_key)
                break
        else:
            raise KeyError(f"mmdet_lite key '{mm_key}' has no torchvision counterpart: only "
                           'ResNet-50-FPN Faster/Mask R-CNN and RetinaNet models convert')
        value = value.detach()
        if mm_key.startswith('roi_head.bbox_head.fc_cls.'):
            if value.shape[0] != len(ids) + 1:
                raise ValueError(f'fc_cls has {value.shape[0]} rows but {len(ids)} class_ids '
                                 '(+1 background) were given; pass the class_ids it was '
                                 'converted with')
            full = value.new_zeros((num_tv_classes,) + value.shape[1:])
            if value.dim() == 1:
                full.fill_(ABSENT_CLASS_BIAS)
            full[ids] = value[:-1]
            full[0] = value[-1]
            value = full
        elif mm_key.startswith('roi_head.bbox_head.fc_reg.'):
            full = value.new_zeros((num_tv_classes * 4,) + value.shape[1:])
            full[(ids[:, None] * 4 + torch.arange(4)).reshape(-1)] = value
            value = full
        elif mm_key.startswith('roi_head.mask_head.conv_logits.'):
            full = value.new_zeros((num_tv_classes,) + value.shape[1:])
            if value.dim() == 1:
                full.fill_(ABSENT_CLASS_BIAS)
            full[ids] = value
            value = full
        elif mm_key.startswith('bbox_head.retina_cls.'):
            full = value.new_zeros((num_anchors * num_tv_classes,) + value.shape[1:])
            if value.dim() == 1:
                full.fill_(ABSENT_CLASS_BIAS)
            full[retina_rows] = value
            value = full
        out[tv_key] = value.clone()
    return out

"""detectron2 (and Detectron) weights → mmdet_lite / mmdetection 2.x names.

detectron2 model zoo, R50-FPN Faster / Mask R-CNN (``model_final_*.pkl``: a pickled
``{'model': {name: ndarray}, '__author__': ...}``; a detectron2 ``.pth`` holds the same names as
tensors) → ``configs/detectron2/{faster,mask}_rcnn_r50_fpn_d2.py``:

* ``backbone.bottom_up.stem.conv1`` / ``.conv1.norm`` → ``backbone.conv1`` / ``backbone.bn1``
* ``backbone.bottom_up.res{s}.{b}.conv{k}`` / ``.conv{k}.norm`` → ``backbone.layer{s-1}.{b}
  .conv{k}`` / ``.bn{k}``; ``.shortcut`` / ``.shortcut.norm`` → ``.downsample.0`` /
  ``.downsample.1`` (FrozenBatchNorm2d's four buffers → BN's; ``num_batches_tracked`` = 0 added)
* ``backbone.fpn_lateral{l}`` / ``backbone.fpn_output{l}`` → ``neck.lateral_convs.{i}.conv`` /
  ``neck.fpn_convs.{i}.conv`` (``i`` counts from the lowest level present, P2 for R-CNN)
* ``proposal_generator.rpn_head.conv`` / ``objectness_logits`` / ``anchor_deltas`` →
  ``rpn_head.rpn_conv`` / ``rpn_cls`` / ``rpn_reg``
* ``roi_heads.box_head.fc{i}`` → ``roi_head.bbox_head.shared_fcs.{i-1}``
* ``roi_heads.box_predictor.cls_score`` → ``roi_head.bbox_head.fc_cls`` unchanged: both put
  the background in the LAST row (C + 1 rows; Detectron and mmdetection 1.x put it first)
* ``roi_heads.box_predictor.bbox_pred`` → ``roi_head.bbox_head.fc_reg`` unchanged: both are
  class-specific, class-major ``[c0: dx dy dw dh, c1: ...]`` (4 C rows; 4 when class-agnostic)
* ``roi_heads.mask_head.mask_fcn{i}`` / ``deconv`` / ``predictor`` →
  ``roi_head.mask_head.convs.{i-1}.conv`` / ``upsample`` / ``conv_logits`` (C rows, no
  background in either)

detectron2's non-persistent buffers (``pixel_mean``, ``pixel_std``) and anchor buffers are
dropped: the config carries them. Any other key is an error naming it.

Detectron (1, Caffe2) ImageNet ResNets (``R-50.pkl``: ``{'blobs': {'conv1_w': ...,
'res2_0_branch2a_w': ..., 'res2_0_branch2a_bn_s': ...}}``, what mmdetection 2.x's
``detectron2pytorch.py`` reads):
AffineChannel scale/shift → BN weight/bias with mean 0 / var 1; ``res{s}_{b}_branch1`` →
``layer{s-1}.{b}.downsample``, ``branch2{a,b,c}`` → ``conv{1,2,3}``; ``fc1000`` is dropped.
"""
import re
from collections import OrderedDict
from typing import Any, Dict, Mapping, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = ['convert_detectron2_state_dict', 'convert_detectron_resnet', 'is_detectron_blobs',
           'DETECTRON_RESNET_BLOCKS']

DETECTRON_RESNET_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

_D2_DROPPED = re.compile(r'^(pixel_mean|pixel_std|.*anchor_generator\.cell_anchors\.\d+)$')
_D2_STEM = re.compile(r'^backbone\.bottom_up\.stem\.conv1\.(norm\.)?(\w+)$')
_D2_BLOCK = re.compile(
    r'^backbone\.bottom_up\.res(\d)\.(\d+)\.(conv[123]|shortcut)\.(norm\.)?(\w+)$')
_D2_FPN = re.compile(r'^backbone\.fpn_(lateral|output)(\d)\.(weight|bias)$')
_D2_FIXED = {
    'proposal_generator.rpn_head.conv': 'rpn_head.rpn_conv',
    'proposal_generator.rpn_head.objectness_logits': 'rpn_head.rpn_cls',
    'proposal_generator.rpn_head.anchor_deltas': 'rpn_head.rpn_reg',
    'roi_heads.box_predictor.cls_score': 'roi_head.bbox_head.fc_cls',
    'roi_heads.box_predictor.bbox_pred': 'roi_head.bbox_head.fc_reg',
    'roi_heads.mask_head.deconv': 'roi_head.mask_head.upsample',
    'roi_heads.mask_head.predictor': 'roi_head.mask_head.conv_logits',
}
_D2_NUMBERED = re.compile(r'^roi_heads\.(box_head\.fc|mask_head\.mask_fcn)(\d+)\.(weight|bias)$')


def _tensor(value: Any, key: str) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value).copy())
    raise TypeError(f'{key!r} holds a {type(value).__name__}, expected a numpy array or tensor')


def _norm_param(param: str, key: str) -> str:
    if param not in ('weight', 'bias', 'running_mean', 'running_var'):
        raise KeyError(f'detectron2 key {key!r}: unknown norm parameter {param!r}')
    return param


def _d2_key(key: str, fpn_lowest: int) -> str:
    """The mmdet_lite name of detectron2's ``key`` ('' when the key is dropped)."""
    if _D2_DROPPED.match(key):
        return ''
    stem = _D2_STEM.match(key)
    if stem:
        norm, param = stem.groups()
        return f'backbone.bn1.{_norm_param(param, key)}' if norm else f'backbone.conv1.{param}'
    block = _D2_BLOCK.match(key)
    if block:
        stage, index, conv, norm, param = block.groups()
        prefix = f'backbone.layer{int(stage) - 1}.{index}'
        if conv == 'shortcut':
            return (f'{prefix}.downsample.1.{_norm_param(param, key)}' if norm else
                    f'{prefix}.downsample.0.{param}')
        k = conv[-1]
        return f'{prefix}.bn{k}.{_norm_param(param, key)}' if norm else f'{prefix}.conv{k}.{param}'
    fpn = _D2_FPN.match(key)
    if fpn:
        kind, level, param = fpn.groups()
        module = 'lateral_convs' if kind == 'lateral' else 'fpn_convs'
        return f'neck.{module}.{int(level) - fpn_lowest}.conv.{param}'
    numbered = _D2_NUMBERED.match(key)
    if numbered:
        kind, i, param = numbered.groups()
        if kind == 'box_head.fc':
            return f'roi_head.bbox_head.shared_fcs.{int(i) - 1}.{param}'
        return f'roi_head.mask_head.convs.{int(i) - 1}.conv.{param}'
    module, _, param = key.rpartition('.')
    if module in _D2_FIXED:
        return f'{_D2_FIXED[module]}.{param}'
    raise KeyError(f'detectron2 key {key!r} has no mmdet_lite counterpart: the converter knows '
                   'R50/R101-FPN Faster and Mask R-CNN (backbone.bottom_up.*, backbone.fpn_*, '
                   'proposal_generator.rpn_head.*, roi_heads.{box_head,box_predictor,mask_head}.*)')


def convert_detectron2_state_dict(model: Mapping[str, Any]) -> 'OrderedDict[str, Tensor]':
    """Rename detectron2's R-CNN ``model`` dict (numpy arrays or tensors) for mmdet_lite.

    Returns the converted state dict (tensors), BN ``num_batches_tracked`` buffers added.
    Raises KeyError for a key the mapping does not know, ValueError when two detectron2 keys
    would land on one name.
    """
    levels = [int(m.group(2)) for m in map(_D2_FPN.match, model) if m]
    fpn_lowest = min(levels) if levels else 2
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    sources: Dict[str, str] = {}
    for key, value in model.items():
        new_key = _d2_key(key, fpn_lowest)
        if not new_key:
            continue
        if new_key in out:
            raise ValueError(f'detectron2 keys {sources[new_key]!r} and {key!r} both map to '
                             f'{new_key!r}')
        out[new_key] = _tensor(value, key)
        sources[new_key] = key
        if new_key.endswith('.running_var'):
            out[new_key[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(0)
    return out


def is_detectron_blobs(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a Detectron (Caffe2) weights dict: ``{'blobs': ...}`` or its blobs."""
    return 'blobs' in obj or 'conv1_w' in obj


def _affine_to_bn(blobs: Mapping[str, Any], name: str, target: str,
                  out: 'OrderedDict[str, Tensor]', used: set) -> None:
    scale = _tensor(blobs[f'{name}_s'], f'{name}_s')
    out[f'{target}.weight'] = scale
    out[f'{target}.bias'] = _tensor(blobs[f'{name}_b'], f'{name}_b')
    out[f'{target}.running_mean'] = torch.zeros_like(scale)
    out[f'{target}.running_var'] = torch.ones_like(scale)
    out[f'{target}.num_batches_tracked'] = torch.tensor(0)
    used.update((f'{name}_s', f'{name}_b'))


def _conv(blobs: Mapping[str, Any], name: str, target: str, out: 'OrderedDict[str, Tensor]',
          used: set) -> None:
    out[f'{target}.weight'] = _tensor(blobs[f'{name}_w'], f'{name}_w')
    used.add(f'{name}_w')
    if f'{name}_b' in blobs:
        out[f'{target}.bias'] = _tensor(blobs[f'{name}_b'], f'{name}_b')
        used.add(f'{name}_b')


def convert_detectron_resnet(obj: Mapping[str, Any], depth: int
                             ) -> Tuple['OrderedDict[str, Tensor]', list]:
    """Detectron's ImageNet ResNet-``depth`` blobs → ``ResNet`` (``style='caffe'``) names.

    Returns ``(state_dict, unconverted blob names)`` (``fc1000_*``, momentum blobs ...).
    """
    if depth not in DETECTRON_RESNET_BLOCKS:
        raise ValueError(f'depth {depth}: Detectron ResNets come in depths '
                         f'{sorted(DETECTRON_RESNET_BLOCKS)}')
    blobs = obj['blobs'] if 'blobs' in obj else obj
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    used: set = set()
    try:
        _conv(blobs, 'conv1', 'conv1', out, used)
        _affine_to_bn(blobs, 'res_conv1_bn', 'bn1', out, used)
        for stage, num_blocks in enumerate(DETECTRON_RESNET_BLOCKS[depth], start=2):
            for b in range(num_blocks):
                prefix, target = f'res{stage}_{b}', f'layer{stage - 1}.{b}'
                if b == 0:
                    _conv(blobs, f'{prefix}_branch1', f'{target}.downsample.0', out, used)
                    _affine_to_bn(blobs, f'{prefix}_branch1_bn', f'{target}.downsample.1', out,
                                  used)
                for k, letter in enumerate('abc', start=1):
                    _conv(blobs, f'{prefix}_branch2{letter}', f'{target}.conv{k}', out, used)
                    _affine_to_bn(blobs, f'{prefix}_branch2{letter}_bn', f'{target}.bn{k}', out,
                                  used)
    except KeyError as err:
        raise KeyError(f'Detectron blob {err.args[0]!r} is missing: is this a ResNet-{depth} '
                       'file? (give the depth of the network the file holds)') from None
    return out, sorted(k for k in blobs if k not in used)

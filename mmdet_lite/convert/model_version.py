"""Upgrade checkpoints of old mmdetection versions (0.x / 1.x) to 2.x's layout (2.x
``tools/model_converters/upgrade_model_version.py``).

What changed, and what is done to each key (``C`` = ``num_classes`` of the old model, the
background included, 81 for COCO):

* 2.0 moved the R-CNN heads under ``roi_head``: ``bbox_head.*``, ``mask_head.*``,
  ``semantic_head.*``, ``grid_head.*``, ``mask_iou_head.*`` → ``roi_head.<same>`` (two-stage
  models only).
* 2.0 moved the background class from the first to the last softmax output: the first row of
  ``fc_cls``/``conv_cls``/``retina_cls``/``fcos_cls``/``fovea_cls`` (per anchor for
  ``conv_cls``/SSD ``cls_convs``) becomes the last; since 2.5 also ``rpn_cls``.
* 2.0 dropped the background's box deltas and mask: class-specific ``fc_reg`` (and, for models
  before 2.5, ``rpn_reg``) and ``conv_logits`` lose their first class block.
* RetinaNet before 0.5.3 used plain convs: ``cls_convs.i.weight`` → ``cls_convs.i.conv.weight``
  (``reg_convs`` too).

What the model is (two-stage, SSD, RetinaNet, class-agnostic regression) is read from the
config text in ``meta['config']`` WITHOUT running it: only literal ``dict(...)``, lists,
tuples, numbers and strings are evaluated (:func:`literal_config`), so a checkpoint never runs
code. Versions are compared as versions (2.x compares strings, so '2.10.0' < '2.5.0' there).

Differences from 2.x on purpose (2.x treats biases unlike their weights): for biases 2.x drops
the LAST class block of ``fc_reg`` and the last row of ``conv_logits`` (``reshape(C, -1)[:C -
1]``) while it drops the FIRST for weights, and it rotates every classification bias, even one
of sigmoid outputs without a background (an RPN's A anchors) whose weights it leaves alone.
Here a bias is treated as its weight's rows: the background's block is dropped / moved.
"""
import ast
import re
from collections import OrderedDict
from typing import Any, Dict, NamedTuple

import torch
from packaging.version import InvalidVersion, Version
from torch import Tensor

__all__ = ['ModelKind', 'literal_config', 'model_kind', 'upgrade_state_dict',
           'upgrade_ssd_state_dict']

_HEADS = ('bbox_head', 'mask_head', 'semantic_head', 'grid_head', 'mask_iou_head')


class _Unknown:
    """A value the literal evaluator does not compute (a call, an attribute, an operator)."""

    def __repr__(self) -> str:
        return '<unknown>'


UNKNOWN = _Unknown()


def _value(node: ast.AST, names: Dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_value(e, names) for e in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    if isinstance(node, ast.Dict):
        return {_value(k, names): _value(v, names) for k, v in zip(node.keys, node.values)
                if k is not None}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args:
        return {kw.arg: _value(kw.value, names) for kw in node.keywords if kw.arg is not None}
    if isinstance(node, ast.Name):
        return names.get(node.id, UNKNOWN)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _value(node.operand, names)
        return -value if isinstance(value, (int, float)) else UNKNOWN
    return UNKNOWN


def literal_config(text: str) -> Dict[str, Any]:
    """The top-level ``name = value`` assignments of a config file's ``text``, evaluated
    without running anything: calls other than ``dict(k=v, ...)``, attributes and operators
    become :data:`UNKNOWN`."""
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise ValueError(f"meta['config'] is not Python: {err}") from None
    names: Dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            names[stmt.targets[0].id] = _value(stmt.value, names)
    return names


class ModelKind(NamedTuple):
    is_two_stage: bool
    is_ssd: bool
    is_retina: bool
    reg_class_agnostic: bool


def model_kind(config_text: str) -> ModelKind:
    """What :func:`upgrade_state_dict` needs to know of the model of ``config_text``."""
    model = literal_config(config_text).get('model')
    if not isinstance(model, dict):
        raise ValueError("meta['config'] has no literal `model = dict(...)`; cannot tell the "
                         'model type')
    bbox_head = model.get('bbox_head')
    if 'rpn_head' not in model:
        head_type = bbox_head.get('type') if isinstance(bbox_head, dict) else None
        return ModelKind(False, head_type == 'SSDHead', head_type == 'RetinaHead', False)
    if isinstance(bbox_head, list):
        return ModelKind(True, False, False, True)
    agnostic = bbox_head.get('reg_class_agnostic', False) if isinstance(bbox_head, dict) else False
    return ModelKind(True, False, False, agnostic is True)


def _version(text: str) -> Version:
    try:
        return Version(str(text))
    except InvalidVersion:
        raise ValueError(f"meta['mmdet_version'] {text!r} is not a version") from None


def _background_last(val: Tensor, num_classes: int) -> Tensor:
    """Move the first class (background) of each group of ``num_classes`` outputs to the end."""
    out_channels = val.shape[0]
    if out_channels == num_classes:
        return torch.cat((val[1:], val[:1]))
    if out_channels % num_classes == 0:  # one group per anchor (softmax conv_cls, SSD)
        grouped = val.reshape(-1, num_classes, *val.shape[1:])
        return torch.cat((grouped[:, 1:], grouped[:, :1]), dim=1).reshape(val.shape)
    return val  # class-agnostic / sigmoid outputs have no background


def _drop_first_block(val: Tensor, num_classes: int) -> Tensor:
    """Drop the background's block of a class-specific output (C blocks along dim 0)."""
    if val.shape[0] % num_classes != 0:
        return val  # class-agnostic
    grouped = val.reshape(num_classes, -1, *val.shape[1:])
    return grouped[1:].reshape(-1, *val.shape[1:])


def upgrade_state_dict(state_dict: Dict[str, Tensor], meta: Dict[str, Any],
                       num_classes: int = 81) -> 'OrderedDict[str, Tensor]':
    """The 2.x state dict of an old checkpoint (``meta`` needs ``config`` and
    ``mmdet_version``); ``num_classes`` counts the old model's outputs with the background."""
    for key in ('config', 'mmdet_version'):
        if key not in meta:
            raise KeyError(f"checkpoint meta has no {key!r}: this does not look like an "
                           'mmdetection 0.x/1.x checkpoint')
    kind = model_kind(meta['config'])
    version = _version(meta['mmdet_version'])
    upgrade_retina = kind.is_retina and version <= Version('0.5.3')
    upgrade_rpn = version < Version('2.5.0')
    cls_names = 'conv_cls|retina_cls|fc_cls|fcos_cls|fovea_cls' + ('|rpn_cls' if upgrade_rpn
                                                                   else '')
    reg_names = 'fc_reg' if upgrade_rpn else 'fc_reg|rpn_reg'
    cls_re = re.compile(rf'({cls_names})\.(weight|bias)$')
    reg_re = re.compile(rf'({reg_names})\.(weight|bias)$')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, val in state_dict.items():
        new_key = f'roi_head.{key}' if kind.is_two_stage and key.startswith(_HEADS) else key
        new_val = val
        if cls_re.search(new_key):
            new_val = _background_last(val, num_classes)
        if reg_re.search(new_key) and not kind.reg_class_agnostic:
            new_val = _drop_first_block(val, num_classes)
        if re.search(r'conv_logits\.(weight|bias)$', new_key):
            new_val = _drop_first_block(val, num_classes)
        conv = re.search(r'(cls_convs|reg_convs)\.\d+\.(weight|bias)$', key)
        if conv and upgrade_retina:
            new_key = f'{key[:conv.start(2)]}conv.{conv.group(2)}'
        elif kind.is_ssd and re.search(r'cls_convs\.\d+\.(weight|bias)$', key):
            new_val = _background_last(val, num_classes)
        out[new_key] = new_val
    return out


_SSD_EXTRA = re.compile(r'^backbone\.extra\.(\d+)\.(weight|bias)$')
_SSD_HEAD_CONV = re.compile(r'^(bbox_head\.(?:cls|reg)_convs\.\d+)\.(weight|bias)$')


def upgrade_ssd_state_dict(state_dict: Dict[str, Tensor], meta: Dict[str, Any]
                           ) -> 'OrderedDict[str, Tensor]':
    """SSD checkpoints from before 2.14 (VGG's extra layers and L2 norm in the backbone, plain
    head convs) → the 2.x layout (2.x ``upgrade_ssd_version.py``):

    * ``backbone.extra.{i}.*`` → ``neck.extra_layers.{i // 2}.{i % 2}.conv.*``
    * ``backbone.l2_norm.weight`` → ``neck.l2_norm.weight``
    * ``bbox_head.{cls,reg}_convs.{l}.*`` → ``bbox_head.{cls,reg}_convs.{l}.0.*``

    ``meta['config']`` must describe an ``SSDHead`` model (read without running it).
    """
    model = literal_config(meta.get('config', '')).get('model')
    head = model.get('bbox_head') if isinstance(model, dict) else None
    if not isinstance(head, dict) or head.get('type') != 'SSDHead':
        raise ValueError("This is not a SSD model: meta['config'] has no model.bbox_head of "
                         "type 'SSDHead'")
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        extra, head_conv = _SSD_EXTRA.match(key), _SSD_HEAD_CONV.match(key)
        if extra:
            index, param = int(extra.group(1)), extra.group(2)
            key = f'neck.extra_layers.{index // 2}.{index % 2}.conv.{param}'
        elif key == 'backbone.l2_norm.weight':
            key = 'neck.l2_norm.weight'
        elif head_conv:
            key = f'{head_conv.group(1)}.0.{head_conv.group(2)}'
        out[key] = value
    return out

"""Export an mmdet_lite detector to ONNX (``tools/deployment/pytorch2onnx.py``).

The detector is wrapped by :func:`~.export_modules.build_export_module` and exported with
``torch.onnx.export(..., dynamo=True)``: the ``torch.export``-based exporter that is the
default and the maintained one since PyTorch 2.9 (the TorchScript tracer, ``dynamo=False``, is
deprecated and freezes every data-dependent size it meets, e.g. the top-k of a small input).
It needs ``onnxscript``. The graph obeys :mod:`.onnx_contract` and carries its metadata.

Shapes: ``N`` images, ``H, W`` the network input.
"""
import copy
import os
import os.path as osp
import time
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from torch import Tensor, nn

from .. import __version__
from ..apis.inference import build_test_pipelines
from ..datasets.collate import mmdet_collate
from .export_modules import build_export_module
from .onnx_contract import (CONTRACT_VERSION, DETS_NAME, DYNAMIC_AXES, INPUT_NAME, LABELS_NAME,
                            MASKS_NAME, OnnxMetadata)

try:  # the ``deploy`` extra
    import onnx
except ImportError:
    onnx = None
try:
    import onnxscript
    from onnxscript import opset18 as onnx_op
except ImportError:
    onnxscript = onnx_op = None
try:
    import onnxslim
except ImportError:
    onnxslim = None

DEPLOY_EXTRA_HINT = 'pip install -e ".[deploy]"'
# The size of the random example image when neither an image nor a shape is given.
DEFAULT_SHAPE = (800, 1216)
# Smallest traced (H, W) of a dynamic export: every level of a stride-128 pyramid then has at
# least 2 cells. torch.export specialises a size that is 0 or 1 in the example (a batch of one,
# a 1x1 level) to that value, so a dynamic graph is traced on a batch of two this large (the
# values do not matter to the graph, only the shapes).
MIN_DYNAMIC_TRACE_SIZE = 320
INT64_MAX = 2**63 - 1


def batched_nms_to_onnx(boxes, scores, iou_threshold: float, score_threshold: float,
                        max_per_batch: int):
    """The ONNX of :func:`~.graph_ops.batched_nms` (the exporter's translation of
    ``mmdet_lite::batched_nms``): one NonMaxSuppression over B batches of one class each;
    ``[b, i]`` are columns 0 and 2 of its ``[batch, class, box]`` rows."""
    selected = onnx_op.NonMaxSuppression(
        boxes, onnx_op.Unsqueeze(scores, [1]),
        onnx_op.Constant(value_int=max_per_batch if max_per_batch > 0 else INT64_MAX),
        onnx_op.Constant(value_float=iou_threshold),
        onnx_op.Constant(value_float=score_threshold))
    return onnx_op.Concat(onnx_op.Slice(selected, axes=[1], starts=[0], ends=[1]),
                          onnx_op.Slice(selected, axes=[1], starts=[2], ends=[3]), axis=1)


def require_packages(*names: str) -> None:
    """Raise ImportError naming the ``deploy`` extra when one of ``names`` is missing."""
    available = dict(onnx=onnx, onnxscript=onnxscript, onnxslim=onnxslim)
    missing = [name for name in names if available.get(name) is None]
    if missing:
        raise ImportError(f'ONNX export needs {missing}: {DEPLOY_EXTRA_HINT}')


class ExportResult(NamedTuple):
    """What :func:`export_detector` wrote: the file, its metadata and the time it took (s)."""
    output_file: str
    metadata: OnnxMetadata
    seconds: float


def _pipeline_config(cfg: Config, shape: Optional[Tuple[int, int]]) -> Config:
    """``cfg`` whose test pipeline resizes to exactly ``shape`` (H, W) when given (as 2.x's
    ``--shape``), otherwise unchanged."""
    if shape is None:
        return cfg
    cfg = copy.deepcopy(cfg)
    steps = cfg.data.test.pipeline
    for step in steps:
        if step['type'] == 'MultiScaleFlipAug':
            step['img_scale'] = (shape[1], shape[0])
            step.pop('scale_factor', None)
            for inner in step['transforms']:
                if inner['type'] == 'Resize':
                    inner['keep_ratio'] = False
        elif step['type'] == 'Resize':
            step['img_scale'] = (shape[1], shape[0])
            step['keep_ratio'] = False
    return cfg


def prepare_input(model: nn.Module, image: Optional[str] = None,
                  shape: Optional[Tuple[int, int]] = None, seed: int = 0) -> Tensor:
    """The network input (1, 3, H, W) the config's test pipeline makes of ``image``.

    Args:
        model: a detector with ``cfg`` (from :func:`~mmdet_lite.apis.init_detector`).
        image: image file; None: a random BGR image of ``shape`` (or :data:`DEFAULT_SHAPE`).
        shape: (H, W) to resize to exactly (no aspect ratio kept), as 2.x's ``--shape``;
            None: the pipeline's own resize. Padding to the size divisor follows either way.
    """
    cfg = _pipeline_config(model.cfg, shape)
    file_pipeline, array_pipeline = build_test_pipelines(cfg)
    if image is None:
        height, width = shape or DEFAULT_SHAPE
        array = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
        sample = array_pipeline(dict(img=array))
    else:
        if not osp.isfile(image):
            raise FileNotFoundError(f'input image {image!r} does not exist')
        sample = file_pipeline(dict(img_info=dict(filename=image), img_prefix=None))
    data = model.data_preprocessor(mmdet_collate([sample]), False)
    img = data['img']
    return (img[0] if isinstance(img, (list, tuple)) else img).detach().float()


def _opset_of(model_proto) -> int:
    return next(int(opset.version) for opset in model_proto.opset_import
                if opset.domain in ('', 'ai.onnx'))


def build_metadata(model: nn.Module, export_module: nn.Module, input_shape: Sequence[int],
                   dynamic: bool, opset: int) -> OnnxMetadata:
    """The :class:`OnnxMetadata` of ``model`` exported by ``export_module``."""
    with_masks = bool(export_module.with_mask)
    if hasattr(model, 'roi_head'):
        num_classes = model.roi_head.bbox_head.num_classes
        rcnn_cfg = model.roi_head.test_cfg
    else:
        num_classes = model.bbox_head.num_classes
        rcnn_cfg = None
    mask_size = 0
    mask_thr = 0.5
    if with_masks:
        mask_head = model.roi_head.mask_head
        scale = mask_head.scale_factor if mask_head.upsample is not None else 1
        mask_size = int(mask_head.roi_feat_size[0] * scale)
        mask_thr = float(rcnn_cfg.get('mask_thr_binary', 0.5))
    classes = tuple(getattr(model, 'CLASSES', None) or ())
    return OnnxMetadata(
        contract=CONTRACT_VERSION, version=__version__, detector=type(model).__name__,
        num_classes=int(num_classes), classes=classes,
        max_per_img=int(export_module.max_per_img), with_masks=with_masks,
        mask_size=mask_size, mask_thr_binary=mask_thr,
        input_shape=tuple(int(s) for s in input_shape), dynamic=bool(dynamic), opset=opset)


def dynamic_trace_example(example: Tensor) -> Tensor:
    """The input a dynamic export is traced with: ``example`` zero-padded to at least two
    images and :data:`MIN_DYNAMIC_TRACE_SIZE` pixels, H and W different (export would
    otherwise take equal sizes for the same symbol)."""
    num, channels, height, width = example.shape
    new_h = max(height, MIN_DYNAMIC_TRACE_SIZE)
    new_w = max(width, MIN_DYNAMIC_TRACE_SIZE)
    if new_h == new_w:
        new_w += 32
    traced = example.new_zeros(max(num, 2), channels, new_h, new_w)
    traced[:num, :, :height, :width] = example
    return traced


def export_detector(model: nn.Module, example: Tensor, output_file: str,
                    dynamic: bool = False, opset: Optional[int] = None,
                    simplify: bool = False, optimize: bool = True) -> ExportResult:
    """Export ``model`` (eval mode, CPU) to ``output_file`` following :mod:`.onnx_contract`.

    Args:
        model: the detector.
        example: (N, 3, H, W) network input traced through the graph (a dynamic export is
            traced on :func:`dynamic_trace_example` of it).
        output_file: the ``.onnx`` file (weights inside it, one file).
        dynamic: batch, height and width become dynamic axes (``--dynamic-export``).
        opset: ONNX opset; None is the exporter's default.
        simplify: run ``onnxslim`` on the graph (``--simplify``).
        optimize: the exporter's own graph optimisation (constant folding, dead code).

    Raises:
        NotImplementedError: the detector's family cannot be exported (the message says why).
        ImportError: ``onnx`` / ``onnxscript`` (or ``onnxslim`` with ``simplify``) missing.
    """
    require_packages('onnx', 'onnxscript', *(['onnxslim'] if simplify else []))
    start = time.perf_counter()
    export_module = build_export_module(model)
    output_names = [DETS_NAME, LABELS_NAME] + ([MASKS_NAME] if export_module.with_mask else [])
    dynamic_shapes = None
    if dynamic:
        example = dynamic_trace_example(example)
        auto = torch.export.Dim.AUTO
        dynamic_shapes = {'img': {axis: auto for axis in DYNAMIC_AXES[INPUT_NAME]}}
    with torch.no_grad():
        program = torch.onnx.export(
            export_module, (example, ), None, dynamo=True, input_names=[INPUT_NAME],
            output_names=output_names, opset_version=opset, dynamic_shapes=dynamic_shapes,
            optimize=optimize, verbose=False,
            custom_translation_table={torch.ops.mmdet_lite.batched_nms.default:
                                      batched_nms_to_onnx})
    model_proto = program.model_proto
    if simplify:
        model_proto = onnxslim.slim(model_proto)
    metadata = build_metadata(model, export_module, example.shape, dynamic,
                              _opset_of(model_proto))
    del model_proto.metadata_props[:]
    for key, value in metadata.to_props().items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value
    out_dir = osp.dirname(osp.abspath(output_file))
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(model_proto, output_file)
    return ExportResult(output_file, metadata, time.perf_counter() - start)

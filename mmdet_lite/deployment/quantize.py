"""Static int8 quantisation of an exported detector graph with ONNX Runtime's tools.

The convolutional trunk (backbone, neck) and the heads' hidden layers are quantised in the QDQ
format (QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into int8 kernels; on
x86 CPUs with AVX-512 VNNI these are ``vpdpbusd`` dot products), weights per output channel.
Kept in fp32: every layer that predicts (class scores, box deltas, mask logits), because int8
there costs accuracy for little time, and everything outside the network's modules (anchor
generation, box decoding, NMS, RoIAlign: data-dependent, index arithmetic).

Which node belongs to which module is read from the node's module path: the exporter's
``pkg.torch.onnx.name_scopes`` metadata (``torch.onnx.export(dynamo=True)``), else its name
(``/detector/backbone/layer1/...`` of the TorchScript exporter), else its weight's name. A node
is quantised when its path matches one of ``quant_scopes`` and none of ``fp32_scopes``
(regular expressions searched in the dotted path).

Calibration: activation ranges (MinMax by default) from images of the config's dataset through
the config's test pipeline, exactly what the graph sees at test time.

Shapes: ``N`` images, ``H, W`` the padded network input.
"""
import json
import os
import os.path as osp
import re
import tempfile
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.registry import DefaultScope

from ..datasets import build_dataset
from ..datasets.collate import mmdet_collate
from ..engine.runtime_keys import plain_copy
from .backend_detector import INSTALL_HINT, pad_to_static
from .onnx_contract import INPUT_NAME, OnnxMetadata, read_metadata

try:  # the ``deploy`` extra
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
except ImportError:
    onnx = None
    CalibrationDataReader = object

# Modules whose layers are quantised (the trunk and the heads' hidden layers) ...
QUANT_SCOPES: Tuple[str, ...] = (r'\bbackbone\b', r'\bneck\b', r'\brpn_head\b',
                                 r'\bbbox_head\b', r'\bmask_head\b', r'\bshared_head\b')
# ... except the layers that make the predictions, kept fp32.
FP32_SCOPES: Tuple[str, ...] = (r'\brpn_cls\b', r'\brpn_reg\b', r'\bfc_cls\b', r'\bfc_reg\b',
                                r'\bconv_logits\b', r'\bretina_cls\b', r'\bretina_reg\b',
                                r'\bconv_cls\b', r'\bconv_reg\b')
# Operators whose int8 versions ONNX Runtime's CPU provider fuses (QLinearConv, QGemm,
# QLinearAdd, int8 MaxPool/Resize/Relu through QDQ propagation).
QUANT_OP_TYPES: Tuple[str, ...] = ('Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Add', 'MaxPool',
                                   'Resize', 'Relu')
CALIBRATE_METHODS = ('minmax', 'entropy', 'percentile')


def require_quantization() -> None:
    """Raise ImportError naming the extra when ``onnx``/``onnxruntime`` are not installed."""
    if onnx is None:
        raise ImportError(f'int8 quantisation needs onnx and onnxruntime: {INSTALL_HINT}')


def node_scope(node: 'onnx.NodeProto', initializers: frozenset) -> str:
    """The dotted module path(s) of ``node`` (see the module docstring), space-separated."""
    parts: List[str] = []
    for prop in node.metadata_props:
        if prop.key == 'pkg.torch.onnx.name_scopes':
            try:
                parts.extend(json.loads(prop.value.replace("'", '"')))
            except ValueError:
                parts.append(prop.value)
    if not parts:
        parts.append(node.name.strip('/').replace('/', '.'))
    parts.extend(name for name in node.input if name in initializers)
    return ' '.join(part for part in parts if part)


class NodeSelection(NamedTuple):
    """Candidate nodes (operator in ``op_types``) of a graph by where they go.

    Attributes:
        quantized: names of the nodes quantised to int8.
        fp32: names of candidates kept fp32 (in ``fp32_scopes`` or outside ``quant_scopes``).
        fp32_scopes: ``{name: module path}`` of the candidates kept fp32 by ``fp32_scopes``
            (the prediction layers: ``detector.rpn_head.rpn_cls``, ...), for the report.
    """
    quantized: List[str]
    fp32: List[str]
    fp32_scopes: Dict[str, str]


def select_nodes(model: 'onnx.ModelProto', quant_scopes: Sequence[str] = QUANT_SCOPES,
                 fp32_scopes: Sequence[str] = FP32_SCOPES,
                 op_types: Sequence[str] = QUANT_OP_TYPES) -> NodeSelection:
    """Split the ``op_types`` nodes of ``model`` into quantised and fp32 ones by module path."""
    initializers = frozenset(init.name for init in model.graph.initializer)
    quant_res = [re.compile(p) for p in quant_scopes]
    fp32_res = [re.compile(p) for p in fp32_scopes]
    quantized, fp32, kept = [], [], {}
    for node in model.graph.node:
        if node.op_type not in op_types:
            continue
        if not node.name:
            raise ValueError(f'a {node.op_type} node of the graph has no name; node names are '
                             'needed to select what to quantise (re-export the graph)')
        scope = node_scope(node, initializers)
        if any(r.search(scope) for r in fp32_res):
            fp32.append(node.name)
            module = next(t for t in scope.split() if any(r.search(t) for r in fp32_res))
            kept[node.name] = re.sub(r'\.(weight|bias)$', '', module)
        elif any(r.search(scope) for r in quant_res):
            quantized.append(node.name)
        else:
            fp32.append(node.name)
    return NodeSelection(quantized, fp32, kept)


def calibration_dataset(cfg: Config, split: str = 'train'):
    """``data.<split>`` of ``cfg`` (looking through dataset wrappers) with the test pipeline,
    in test mode: the images the quantiser calibrates on, prepared as at test time."""
    data = cfg.get('data')
    if data is None or data.get(split) is None:
        raise KeyError(f'config {cfg.filename!r} has no data.{split} to calibrate on; pass '
                       "--calib-split with one of the config's data splits (train, val, test)")
    dataset_cfg = plain_copy(data[split])
    if isinstance(dataset_cfg, (list, tuple)):
        dataset_cfg = dataset_cfg[0]
    while 'pipeline' not in dataset_cfg and 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    test_cfg = data.get('test')
    if isinstance(test_cfg, (list, tuple)):
        test_cfg = test_cfg[0]
    while test_cfg is not None and 'pipeline' not in test_cfg and 'dataset' in test_cfg:
        test_cfg = test_cfg['dataset']
    if test_cfg is None or 'pipeline' not in test_cfg:
        raise KeyError(f'config {cfg.filename!r} has no data.test.pipeline; calibration runs '
                       'the test pipeline')
    dataset_cfg['pipeline'] = plain_copy(test_cfg['pipeline'])
    dataset_cfg['test_mode'] = True
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        return build_dataset(dataset_cfg)


def calibration_batches(cfg: Config, num_images: int, metadata: OnnxMetadata,
                        split: str = 'train') -> Iterator[np.ndarray]:
    """The first ``num_images`` images of ``data.<split>`` as graph inputs, one per batch:
    float32 (1, 3, H, W) through the test pipeline (padded to a static graph's shape).

    Raises:
        ValueError: ``num_images`` < 1, or a static graph whose batch size is not 1.
    """
    if num_images < 1:
        raise ValueError(f'--calib-images must be >= 1, got {num_images}')
    if not metadata.dynamic and metadata.input_shape[0] != 1:
        raise ValueError(f'the graph was exported with batch size {metadata.input_shape[0]}; '
                         'calibration feeds single images: export with batch 1 or '
                         '--dynamic-export')
    dataset = calibration_dataset(cfg, split)
    count = min(num_images, len(dataset))
    for i in range(count):
        data = mmdet_collate([dataset[i]])
        img = data['img'][0] if isinstance(data['img'], (list, tuple)) else data['img']
        img = img.numpy().astype(np.float32)
        yield img if metadata.dynamic else pad_to_static(img, metadata.input_shape, 'the graph')


class _Reader(CalibrationDataReader):
    """ONNX Runtime's calibration reader over an iterable of input batches."""

    def __init__(self, batches: Iterable[np.ndarray]):
        self.batches = iter(batches)
        self.count = 0

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        batch = next(self.batches, None)
        if batch is None:
            return None
        self.count += 1
        return {INPUT_NAME: batch}


class QuantizationReport(NamedTuple):
    """What :func:`quantize_onnx` did: output path, number of calibration batches, the node
    selection."""
    output_file: str
    num_calib_batches: int
    selection: NodeSelection


def quantize_onnx(model_file: str, output_file: str, calib_batches: Iterable[np.ndarray],
                  quant_scopes: Sequence[str] = QUANT_SCOPES,
                  fp32_scopes: Sequence[str] = FP32_SCOPES,
                  op_types: Sequence[str] = QUANT_OP_TYPES,
                  calibrate_method: str = 'minmax',
                  activation_type: str = 'uint8') -> QuantizationReport:
    """Quantise ``model_file`` to int8 (QDQ, per-channel int8 weights) into ``output_file``.

    Args:
        model_file: an fp32 graph from ``tools/deployment/pytorch2onnx.py``.
        output_file: the int8 graph (same inputs, outputs and metadata).
        calib_batches: input batches float32 (N, 3, H, W) the graph accepts
            (:func:`calibration_batches`).
        quant_scopes / fp32_scopes / op_types: which nodes are quantised (module docstring).
        calibrate_method: ``'minmax'``, ``'entropy'`` or ``'percentile'``.
        activation_type: ``'uint8'`` (with int8 weights: the u8s8 kernels of x86 VNNI) or
            ``'int8'``.
    """
    require_quantization()
    if calibrate_method not in CALIBRATE_METHODS:
        raise ValueError(f'calibrate_method must be one of {CALIBRATE_METHODS}, got '
                         f'{calibrate_method!r}')
    if activation_type not in ('uint8', 'int8'):
        raise ValueError(f"activation_type must be 'uint8' or 'int8', got {activation_type!r}")
    model = onnx.load(model_file)
    metadata = read_metadata(model)  # refuses graphs that do not follow the contract
    selection = select_nodes(model, quant_scopes, fp32_scopes, op_types)
    if not selection.quantized:
        raise ValueError(f'no node of {model_file} matches {list(quant_scopes)}: nothing to '
                         'quantise; check the module paths of its nodes (quantize.node_scope)')
    reader = _Reader(calib_batches)
    method = dict(minmax=CalibrationMethod.MinMax, entropy=CalibrationMethod.Entropy,
                  percentile=CalibrationMethod.Percentile)[calibrate_method]
    out_dir = osp.dirname(osp.abspath(output_file))
    os.makedirs(out_dir, exist_ok=True)
    extra_options = dict(ActivationSymmetric=activation_type == 'int8')
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        tmp_file = osp.join(tmp, 'int8.onnx')
        quantize_static(
            model, tmp_file, reader, quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types), per_channel=True,
            activation_type=QuantType.QUInt8 if activation_type == 'uint8' else QuantType.QInt8,
            weight_type=QuantType.QInt8, nodes_to_quantize=selection.quantized,
            nodes_to_exclude=selection.fp32, calibrate_method=method,
            extra_options=extra_options)
        if reader.count == 0:
            raise ValueError('no calibration batch was given; calibrate on >= 1 image')
        quantized = onnx.load(tmp_file)
        # the contract's metadata travels with the graph
        props = {p.key: p.value for p in quantized.metadata_props}
        props.update(metadata.to_props())
        del quantized.metadata_props[:]
        for key, value in props.items():
            entry = quantized.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(quantized, tmp_file)
        os.replace(tmp_file, output_file)
    return QuantizationReport(output_file, reader.count, selection)

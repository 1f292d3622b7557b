"""int8 quantisation of the tiny exported Mask R-CNN: what is quantised, what stays fp32, the
int8 graph keeps the contract and still detects what the fp32 graph detects."""
import glob
import os.path as osp

import numpy as np
import onnx
import pytest

from mmdet_lite.apis import inference_detector
from mmdet_lite.core.evaluation import bbox_overlaps
from mmdet_lite.deployment import quantize
from mmdet_lite.deployment.backends import build_backend_detector
from mmdet_lite.deployment.onnx_contract import read_metadata
from mmdet_lite.deployment.quantize import node_scope, select_nodes

from ..test_tools.tool_loader import load_tool


def test_select_nodes_trunk_int8_predictions_fp32(tiny_shapes_onnx):
    model = onnx.load(tiny_shapes_onnx[2])
    selection = select_nodes(model)
    initializers = frozenset(init.name for init in model.graph.initializer)
    by_name = {node.name: node for node in model.graph.node}

    def scopes(names, op_types=('Conv', 'Gemm', 'ConvTranspose')):
        return [node_scope(by_name[n], initializers) for n in names
                if by_name[n].op_type in op_types]

    int8_scopes, fp32_scopes = scopes(selection.quantized), scopes(selection.fp32)
    for module in ('backbone.layer1', 'backbone.layer4', 'neck.lateral_convs', 'neck.fpn_convs',
                   'rpn_head.rpn_conv', 'bbox_head.shared_fcs', 'mask_head.convs',
                   'mask_head.upsample'):
        assert any(module in s for s in int8_scopes), module
    assert not any('roi_head' in s for s in scopes(selection.quantized, ('Add', 'MaxPool')))
    predictions = ('rpn_cls', 'rpn_reg', 'fc_cls', 'fc_reg', 'conv_logits')
    for layer in predictions:
        assert any(layer in s for s in fp32_scopes), layer
        assert not any(layer in s for s in int8_scopes), layer
    assert {m.rsplit('.', 1)[-1] for m in selection.fp32_scopes.values()} == set(predictions)
    # the candidates outside the network's modules (box decoding, ...) stay fp32 too
    assert any('head' not in s and 'backbone' not in s and 'neck' not in s
               for s in scopes(selection.fp32, ('Add', )))


def test_quantize_tool_int8_still_detects(tiny_shapes_checkpoint, tiny_shapes_onnx, tmp_path,
                                          one_thread):
    config, _, onnx_file = tiny_shapes_onnx
    int8_file = str(tmp_path / 'tiny_int8.onnx')
    report = load_tool('tools/deployment/quantize.py').main(
        [onnx_file, config, '--calib-images', '4', '--output-file', int8_file])
    assert report.num_calib_batches == 4 and osp.isfile(int8_file)
    int8 = onnx.load(int8_file)
    assert read_metadata(int8) == read_metadata(onnx_file)
    ops = [node.op_type for node in int8.graph.node]
    assert ops.count('QuantizeLinear') > 20 and ops.count('DequantizeLinear') > 20

    images = sorted(glob.glob(osp.join(tiny_shapes_checkpoint[3], 'val', '*.png')))
    fp32 = build_backend_detector(config, onnx_file, num_threads=1)
    # OpenVINO runs the same QDQ graph in int8 (benchmark.py's openvino-int8 engine)
    quantized = {backend: build_backend_detector(config, int8_file, backend, num_threads=1)
                 for backend in ('onnxruntime', 'openvino')}
    for img in images:
        ref_bboxes, _ = inference_detector(fp32, img)
        for backend, detector in quantized.items():
            bboxes, segms = inference_detector(detector, img)
            assert sum(len(b) for b in bboxes) > 0, (backend, img)
            assert all(len(s) == len(b) for s, b in zip(segms, bboxes))
            # the best-scoring int8 detection overlaps an fp32 detection of its class
            best = max(range(len(bboxes)), key=lambda c: bboxes[c][:, 4].max(initial=-1))
            top = bboxes[best][bboxes[best][:, 4].argmax()]
            ious = bbox_overlaps(top[None, :4], ref_bboxes[best][:, :4]) \
                if len(ref_bboxes[best]) else np.zeros((1, 0))
            assert ious.max(initial=0) > 0.5, (backend, img)


def test_quantize_needs_calibration_images(tiny_shapes_onnx, tmp_path):
    config, _, onnx_file = tiny_shapes_onnx
    with pytest.raises(ValueError, match='--calib-images'):
        load_tool('tools/deployment/quantize.py').main(
            [onnx_file, config, '--calib-images', '0', '--output-file',
             str(tmp_path / 'x.onnx')])


def test_quantize_names_the_extra(monkeypatch):
    monkeypatch.setattr(quantize, 'onnx', None)
    with pytest.raises(ImportError, match=r'\.\[deploy\]'):
        quantize.quantize_onnx('m.onnx', 'out.onnx', [])

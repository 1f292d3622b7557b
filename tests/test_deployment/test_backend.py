"""Backend detectors (ONNX Runtime, OpenVINO) against the PyTorch model they were exported from,
``tools/deployment/test.py`` against ``tools/test.py``, and the post-processing worked by hand."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.apis import inference_detector, init_detector
from mmdet_lite.deployment import onnxruntime_detector, openvino_detector
from mmdet_lite.deployment.backend_detector import BackendDetector
from mmdet_lite.deployment.backends import build_backend_detector
from mmdet_lite.deployment.onnx_contract import CONTRACT_VERSION, OnnxMetadata

from ..test_tools.tool_loader import load_tool

BOX_TOL = 0.05
SCORE_TOL = 1e-3
MASK_IOU = 0.98


def _images(data_root: str, tmp_path) -> list:
    """The shapes val and train images, plus a 64x128 one (another input shape than the
    export's 64x64: the dynamic axes)."""
    files = sorted(glob.glob(osp.join(data_root, 'val', '*.png')) +
                   glob.glob(osp.join(data_root, 'train', '*.png')))
    wide = np.concatenate([cv2.imread(files[0]), cv2.imread(files[1])], axis=1)
    wide_file = str(tmp_path / 'wide.png')
    cv2.imwrite(wide_file, wide)
    return files + [wide_file]


def _assert_same_detections(expected, actual, where: str) -> int:
    """Same detections per class (boxes, scores, masks); returns their number."""
    (exp_bboxes, exp_masks), (act_bboxes, act_masks) = expected, actual
    assert len(exp_bboxes) == len(act_bboxes)
    count = 0
    for c, (exp, act) in enumerate(zip(exp_bboxes, act_bboxes)):
        assert exp.shape == act.shape, f'{where} class {c}: {exp.shape} vs {act.shape}'
        np.testing.assert_allclose(act[:, :4], exp[:, :4], atol=BOX_TOL, rtol=0, err_msg=where)
        np.testing.assert_allclose(act[:, 4], exp[:, 4], atol=SCORE_TOL, rtol=0, err_msg=where)
        assert len(exp_masks[c]) == len(act_masks[c]) == len(exp)
        for exp_mask, act_mask in zip(exp_masks[c], act_masks[c]):
            assert exp_mask.shape == act_mask.shape and act_mask.dtype == bool
            union = np.logical_or(exp_mask, act_mask).sum()
            if union:
                iou = np.logical_and(exp_mask, act_mask).sum() / union
                assert iou >= MASK_IOU, f'{where} class {c}: mask IoU {iou:.3f}'
        count += len(exp)
    return count


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_backend_detector_matches_pytorch(backend, tiny_shapes_checkpoint, tiny_shapes_onnx,
                                          tmp_path, one_thread):
    config, checkpoint, onnx_file = tiny_shapes_onnx
    images = _images(tiny_shapes_checkpoint[3], tmp_path)
    model = init_detector(config, checkpoint, device='cpu')
    detector = build_backend_detector(config, onnx_file, backend, num_threads=1)
    assert detector.CLASSES == model.CLASSES
    expected = inference_detector(model, images, batch_size=4)
    actual = inference_detector(detector, images, batch_size=4)     # batches of 4 and 1
    total = sum(_assert_same_detections(e, a, f'{backend} {osp.basename(f)}')
                for e, a, f in zip(expected, actual, images))
    assert total > 0
    # one image, not a list: one result, as the PyTorch model
    single = inference_detector(detector, images[-1])
    _assert_same_detections(expected[-1], single, images[-1])


def test_deployment_test_tool_gives_pytorch_map(tiny_shapes_checkpoint, tiny_shapes_onnx,
                                                tmp_path, one_thread):
    config, checkpoint, onnx_file = tiny_shapes_onnx
    reference = load_tool('tools/test.py').main([config, checkpoint, '--eval', 'bbox', 'segm'])
    out = str(tmp_path / 'ort.pkl')
    metric = load_tool('tools/deployment/test.py').main(
        [config, onnx_file, '--backend', 'onnxruntime', '--num-threads', '1', '--eval', 'bbox',
         'segm', '--out', out, '--show-dir', str(tmp_path / 'show')])
    for key in ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50'):
        assert abs(metric[key] - reference[key]) <= 0.002, (key, metric[key], reference[key])
    assert osp.isfile(out)
    assert len(glob.glob(str(tmp_path / 'show' / '**' / '*.png'), recursive=True)) == 4


class _FixedGraph(BackendDetector):
    """A backend whose 'graph' returns fixed outputs (the post-processing under test)."""
    backend = 'fixed'

    def __init__(self, outputs, metadata, cfg):
        super().__init__('fixed.onnx', cfg, metadata)
        self.outputs = outputs
        self.inputs = []

    def forward_graph(self, img):
        self.inputs.append(img)
        return [out[:img.shape[0]] for out in self.outputs]


def _metadata(batch=2, dynamic=False, with_masks=True):
    return OnnxMetadata(contract=CONTRACT_VERSION, version='test', detector='MaskRCNN',
                        num_classes=2, classes=('a', 'b'), max_per_img=3,
                        with_masks=with_masks, mask_size=4, mask_thr_binary=0.5,
                        input_shape=(batch, 3, 32, 64), dynamic=dynamic, opset=18)


def _cfg():
    return Config(dict(model=dict(
        roi_head=dict(mask_head=dict(type='FCNMaskHead', num_convs=1, in_channels=4,
                                     conv_out_channels=4, num_classes=2)),
        test_cfg=dict(rcnn=dict(score_thr=0.05, mask_thr_binary=0.5)))))


def test_postprocess_worked_by_hand():
    """Padding rows dropped, boxes clipped to img_shape then divided by scale_factor, a full
    mask pasted as its box at the original size, an image without detections, a static graph
    fed padded batches of its own size."""
    dets = np.zeros((2, 3, 5), np.float32)
    labels = np.full((2, 3), -1, np.int64)
    masks = np.zeros((2, 3, 4, 4), np.float32)
    dets[0, 0] = [4, 2, 20, 40, 0.9]     # y2 beyond img_shape height 20: clipped
    dets[0, 1] = [-3, 0, 8, 8, 0.4]      # x1 < 0: clipped
    labels[0, :2] = [1, 0]
    masks[0, :2] = 1.0
    detector = _FixedGraph([dets, labels, masks], _metadata(), _cfg())
    img = torch.zeros(3, 3, 20, 60)      # 3 images, smaller than the static 32 x 64
    metas = [dict(img_shape=(20, 60, 3), ori_shape=(10, 30, 3), pad_shape=(20, 60, 3),
                  scale_factor=np.array([2., 2., 2., 2.], np.float32)) for _ in range(3)]
    results = detector.simple_test(img, metas, rescale=True)
    assert [x.shape for x in detector.inputs] == [(2, 3, 32, 64), (2, 3, 32, 64)]
    bboxes, segms = results[0]
    np.testing.assert_allclose(bboxes[1], [[2, 1, 10, 10, 0.9]])    # (4, 2, 20, 20) / 2
    np.testing.assert_allclose(bboxes[0], [[0, 0, 4, 4, 0.4]])
    expected = np.zeros((10, 30), bool)
    expected[1:10, 2:10] = True
    assert len(segms[1]) == 1 and segms[1][0].shape == (10, 30)
    assert (segms[1][0] == expected).all()
    # image 1 has padding rows only
    bboxes, segms = results[1]
    assert all(b.shape == (0, 5) for b in bboxes) and segms == [[], []]
    unscaled = detector.simple_test(img[:1], metas[:1], rescale=False)[0][0]
    np.testing.assert_allclose(unscaled[1], [[4, 2, 20, 20, 0.9]])


def test_static_graph_refuses_larger_input():
    detector = _FixedGraph([np.zeros((1, 3, 5), np.float32), np.full((1, 3), -1)],
                           _metadata(batch=1, with_masks=False), _cfg())
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), scale_factor=1.0)]
    with pytest.raises(ValueError, match='--dynamic-export'):
        detector.simple_test(torch.zeros(1, 3, 64, 64), metas)


def test_class_names_must_match():
    with pytest.raises(ValueError, match='class_names'):
        _FixedGraph([], _metadata()._replace(classes=()), _cfg())


def test_missing_packages_name_the_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(onnxruntime_detector, 'onnxruntime', None)
    monkeypatch.setattr(openvino_detector, 'openvino', None)
    model_file = tmp_path / 'm.onnx'
    model_file.write_bytes(b'')
    for backend in ('onnxruntime', 'openvino'):
        with pytest.raises(ImportError, match=r'\.\[deploy\]'):
            build_backend_detector(_cfg(), str(model_file), backend)

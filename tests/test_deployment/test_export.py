"""ONNX export (``tools/deployment/pytorch2onnx.py``, ``mmdet_lite.deployment.onnx_export``):
ONNX Runtime's detections equal PyTorch's ``simple_test`` (boxes <= 0.05 px, scores <= 1e-3,
pasted mask IoU >= 0.98) at the export's size, at other sizes and batch sizes (dynamic axes) and
on an image with no detection; the graph's contract (padding rows, metadata)."""
import copy
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.apis import init_detector
from mmdet_lite.deployment import onnx_export
from mmdet_lite.deployment.export_modules import build_export_module
from mmdet_lite.deployment.graph_ops import parse_nms_cfg
from mmdet_lite.deployment.onnx_contract import (CONTRACT_VERSION, PAD_LABEL, OnnxMetadata,
                                                 metadata_from_props, read_metadata,
                                                 split_outputs)
from mmdet_lite.deployment.onnx_export import export_detector, prepare_input
from mmdet_lite.deployment.onnx_verify import (compare, create_session, onnx_detections,
                                               pytorch_detections, verify_onnx)
from mmdet_lite.models import build_detector

from ..test_tools.tool_loader import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _val_images(data_root: str):
    return sorted(glob.glob(osp.join(data_root, 'val', '*.png')))


def _assert_parity(parities, min_dets: int = 1):
    for parity in parities:
        assert parity.ok, str(parity)
    assert sum(p.num_dets for p in parities) >= min_dets


def test_mask_rcnn_dynamic_graph_matches_pytorch(tiny_shapes_checkpoint, tiny_shapes_onnx,
                                                 one_thread):
    """The shared dynamic export (traced at 320x352, batch 2) on the 64x64 val images one by
    one, on a 64x128 image and on a batch of three 96x64 images."""
    config, checkpoint, onnx_file = tiny_shapes_onnx
    model = init_detector(config, checkpoint, device='cpu')
    images = _val_images(tiny_shapes_checkpoint[3])
    inputs = [prepare_input(model, image) for image in images]
    wide = np.concatenate([cv2.imread(images[0]), cv2.imread(images[1])], axis=1)
    wide_file = osp.join(osp.dirname(onnx_file), 'wide.png')
    cv2.imwrite(wide_file, wide)
    inputs.append(prepare_input(model, wide_file, shape=(64, 128)))
    assert tuple(inputs[-1].shape) == (1, 3, 64, 128)
    inputs.append(torch.cat([prepare_input(model, image, shape=(96, 64))
                             for image in images[:3]]))
    _assert_parity(verify_onnx(model, onnx_file, inputs, num_threads=1), min_dets=10)

    meta = read_metadata(onnx_file)
    assert meta.contract == CONTRACT_VERSION and meta.detector == 'MaskRCNN'
    assert meta.dynamic and meta.with_masks and meta.mask_size == 28
    assert meta.num_classes == 4 and meta.max_per_img == 20
    assert meta.classes == tuple(model.CLASSES)


def test_mask_rcnn_tool_export_verify_and_no_detection(tiny_shapes_checkpoint, tmp_path,
                                                       one_thread, capsys):
    """``pytorch2onnx.py --verify`` (static shape) with a score threshold between the best
    scores of two images (the shapes val images and a blank one): the image below it gives K
    padding rows, as PyTorch gives no detection."""
    config, checkpoint, _, data_root = tiny_shapes_checkpoint
    blank_file = str(tmp_path / 'blank.png')
    cv2.imwrite(blank_file, np.full((64, 64, 3), 127, np.uint8))
    model = init_detector(config, checkpoint, device='cpu')
    files = _val_images(data_root) + [blank_file]
    best = [float(pytorch_detections(model, prepare_input(model, f))[0].scores.max())
            for f in files]
    high, low = files[int(np.argmax(best))], files[int(np.argmin(best))]
    assert max(best) - min(best) > 1e-3, f'best scores {best} too close to split'
    score_thr = (max(best) + min(best)) / 2
    out = str(tmp_path / 'mask_rcnn.onnx')
    code = load_tool('tools/deployment/pytorch2onnx.py').main([
        config, checkpoint, '--output-file', out, '--input-img', high, '--verify',
        '--cfg-options', f'model.test_cfg.rcnn.score_thr={score_thr}'])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert 'verify [1, 3, 64, 64]' in printed and 'OK' in printed

    meta = read_metadata(out)
    assert not meta.dynamic and meta.input_shape == (1, 3, 64, 64)
    model = init_detector(config, checkpoint, device='cpu',
                          cfg_options={'model.test_cfg.rcnn.score_thr': score_thr})
    empty = prepare_input(model, low)
    assert len(pytorch_detections(model, empty)[0].scores) == 0
    session = create_session(out, num_threads=1)
    dets, labels, masks = session.run(None, {'input': empty.numpy()})
    assert dets.shape == (1, 20, 5) and labels.shape == (1, 20) and masks.shape == (1, 20, 28, 28)
    assert (labels == PAD_LABEL).all() and not dets.any() and not masks.any()
    assert len(onnx_detections(session, model, empty, meta)[0].scores) == 0


class _EagerSession:
    """An ONNX Runtime session's ``run`` served by the export wrapper itself (no ONNX)."""

    def __init__(self, module: torch.nn.Module):
        self.module = module

    def run(self, names, feeds):
        with torch.no_grad():
            return [out.numpy() for out in self.module(torch.from_numpy(feeds['input']))]


@pytest.mark.parametrize('class_agnostic', [False, True])
def test_mask_rcnn_export_wrapper_nms_paths(tiny_shapes_checkpoint, one_thread, class_agnostic):
    """The two-stage wrapper, run eagerly on a batch of two, equals ``simple_test`` with
    score_thr 0 (every RoI and class a candidate, K reached): class-aware NMS as one NMS batch
    per (image, class), and class-agnostic NMS (one group per image)."""
    config, checkpoint, _, data_root = tiny_shapes_checkpoint
    model = init_detector(config, checkpoint, device='cpu', cfg_options={
        'model.test_cfg.rcnn.score_thr': 0.0,
        'model.test_cfg.rcnn.nms.class_agnostic': class_agnostic})
    img = torch.cat([prepare_input(model, f) for f in _val_images(data_root)[:2]])
    module = build_export_module(model)
    meta = onnx_export.build_metadata(model, module, img.shape, False, 18)
    parity = compare(pytorch_detections(model, img),
                     onnx_detections(_EagerSession(module), model, img, meta))
    assert parity.ok, str(parity)
    # class-agnostic NMS leaves fewer than K boxes per image here
    assert parity.num_dets == 2 * meta.max_per_img if not class_agnostic else \
        parity.num_dets > meta.max_per_img


def _tiny_retinanet() -> torch.nn.Module:
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/models/retinanet_r50_fpn.py')).model
    cfg.backbone.update(depth=18, base_channels=8, init_cfg=None)
    cfg.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    cfg.bbox_head.update(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1)
    cfg.test_cfg.update(nms_pre=40, max_per_img=15)
    cfg.train_cfg = None
    torch.manual_seed(0)
    model = build_detector(cfg)
    model.init_weights()
    # Larger logits than the initialisation's, so scores spread and NMS has work to do.
    with torch.no_grad():
        model.bbox_head.retina_cls.weight.mul_(30)
    return model.eval()


def test_retinanet_export_matches_pytorch_with_and_without_detections(tmp_path, one_thread):
    """A static 96x128 RetinaNet graph on a noise image (detections, nms_pre top-k and NMS at
    work) and on a constant image whose scores all stay below score_thr (no detection)."""
    model = _tiny_retinanet()
    generator = torch.Generator().manual_seed(1)
    noise = torch.randn(1, 3, 96, 128, generator=generator)
    flat = torch.zeros(1, 3, 96, 128)
    model.bbox_head.test_cfg.score_thr = 0.0
    best = [float(pytorch_detections(model, img)[0].scores.max()) for img in (noise, flat)]
    assert best[0] > best[1] + 0.01, f'noise max score {best[0]}, flat {best[1]}'
    model.bbox_head.test_cfg.score_thr = (best[0] + best[1]) / 2
    out = str(tmp_path / 'retinanet.onnx')
    result = export_detector(model, noise, out, optimize=False)
    assert result.metadata.detector == 'RetinaNet' and not result.metadata.with_masks
    parities = verify_onnx(model, out, [noise, flat], num_threads=1)
    _assert_parity(parities, min_dets=5)
    assert parities[1].num_dets == 0
    labels = create_session(out, 1).run(None, {'input': flat.numpy()})[1]
    assert labels.shape == (1, 15) and (labels == PAD_LABEL).all()


def test_contract_rows_and_metadata():
    meta = OnnxMetadata(CONTRACT_VERSION, '0.1.0', 'MaskRCNN', 2, ('a', 'b'), 3, True, 2, 0.5,
                        (1, 3, 32, 32), True, 18)
    props = meta.to_props()
    assert metadata_from_props(props) == meta
    with pytest.raises(ValueError, match='lacks the mmdet_lite ONNX metadata'):
        metadata_from_props({k: v for k, v in props.items() if k != 'max_per_img'})
    with pytest.raises(ValueError, match='re-export'):
        metadata_from_props(dict(props, **{'mmdet_lite.onnx_contract': '999'}))
    dets = np.zeros((2, 3, 5), np.float32)
    dets[0, :2] = [[1, 2, 3, 4, 0.9], [5, 6, 7, 8, 0.5]]
    labels = np.array([[1, 0, -1], [-1, -1, -1]])
    masks = np.zeros((2, 3, 2, 2), np.float32)
    (d0, l0, m0), (d1, l1, m1) = split_outputs([dets, labels, masks], meta)
    assert d0.shape == (2, 5) and l0.tolist() == [1, 0] and m0.shape == (2, 2, 2)
    assert d1.shape == (0, 5) and l1.shape == (0, ) and m1.shape == (0, 2, 2)


def test_unexportable_settings_say_why(monkeypatch):
    with pytest.raises(ValueError, match="cannot be exported.*type='nms'"):
        parse_nms_cfg(dict(type='soft_nms', iou_threshold=0.5), 'test_cfg.rcnn')
    model = _tiny_retinanet()
    broken = copy.deepcopy(model)
    broken.bbox_head.test_cfg.max_per_img = -1
    with pytest.raises(ValueError, match='set max_per_img'):
        build_export_module(broken)
    monkeypatch.setattr(onnx_export, 'onnxscript', None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[deploy\]"'):
        export_detector(model, torch.zeros(1, 3, 64, 64), 'unused.onnx')

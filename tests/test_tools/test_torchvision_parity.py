"""torchvision → mmdet_lite: weight conversion, and equal detections on the same input.

torchvision's own ``maskrcnn_resnet50_fpn`` / ``fasterrcnn_resnet50_fpn`` (no weights downloaded,
seeded) is the independent reference: its state dict is converted in memory, loaded strictly
into the model of ``configs/torchvision/*_tv.py``, and both models detect on one normalised,
padded batch (torchvision's resize/normalise transform bypassed).
"""
import os.path as osp
import runpy
import sys
from typing import List, Tuple

import numpy as np
import pytest
import torch
from mmengine import Config

from mmdet_lite.analysis import benchmark as benchmark_mod
from mmdet_lite.analysis.benchmark import (MMDET_VARIANTS, boost_torchvision_detections,
                                           format_benchmark, make_benchmark_inputs,
                                           run_benchmark)
from mmdet_lite.apis.inference_speed import optimize_for_inference
from mmdet_lite.convert.torchvision_convert import (ABSENT_CLASS_BIAS, TV_COCO_CATEGORIES,
                                                    coco_class_ids,
                                                    convert_mmdet_to_torchvision_state_dict,
                                                    convert_torchvision_state_dict,
                                                    torchvision_labels_to_mmdet,
                                                    torchvision_to_mmdet_checkpoint)
from mmdet_lite.convert.torchvision_runner import (build_torchvision_detector, torchvision_detect,
                                                   torchvision_to_mmdet_results)
from mmdet_lite.models import build_detector

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(mask=osp.join(REPO, 'configs/torchvision/mask_rcnn_r50_fpn_tv.py'),
               faster=osp.join(REPO, 'configs/torchvision/faster_rcnn_r50_fpn_tv.py'),
               retina=osp.join(REPO, 'configs/torchvision/retinanet_r50_fpn_tv.py'))
TV_KINDS = dict(mask='maskrcnn_resnet50_fpn', faster='fasterrcnn_resnet50_fpn',
                retina='retinanet_resnet50_fpn')
UNUSED_IDS = [i for i in range(1, 91) if i not in coco_class_ids()]
# mmdetection 2.x's CocoDataset.CLASSES, written out as the independent check of the layout.
MMDET_COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush')


def _tv_model(with_mask: bool, seed: int = 0, boost: bool = True,
              kind: str = None) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_torchvision_detector(with_mask=with_mask, kind=kind)
    if boost:
        boost_torchvision_detections(model, unused_class_ids=UNUSED_IDS)
    return model


def _mm_model(kind: str, tv_model: torch.nn.Module) -> torch.nn.Module:
    cfg = Config.fromfile(CONFIGS[kind])
    model = build_detector(cfg.model)
    checkpoint = torchvision_to_mmdet_checkpoint(tv_model.state_dict())
    # strict: every key of the mmdet_lite model is produced, and nothing else
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    return model.eval()


def _batch(sizes: List[Tuple[int, int]], seed: int = 0) -> Tuple[torch.Tensor, List[dict]]:
    """Normalised images of ``sizes`` zero-padded to a multiple of 32, and their img_metas."""
    pad_h = -(-max(h for h, _ in sizes) // 32) * 32
    pad_w = -(-max(w for _, w in sizes) // 32) * 32
    img = torch.zeros(len(sizes), 3, pad_h, pad_w)
    metas = []
    for i, (h, w) in enumerate(sizes):
        img[i, :, :h, :w] = make_benchmark_inputs(h, w, 1, seed=seed + i)[0][0]
        metas.append(dict(ori_shape=(h, w, 3), img_shape=(h, w, 3), pad_shape=(pad_h, pad_w, 3),
                          scale_factor=np.ones(4, dtype=np.float32), flip=False,
                          flip_direction=None, filename=f'img{i}.jpg', ori_filename=f'img{i}.jpg',
                          batch_input_shape=(pad_h, pad_w)))
    return img, metas


def _flatten(result) -> Tuple[np.ndarray, np.ndarray, list]:
    """(dets (n, 5), labels (n,), masks or []) of one image's docs/conventions.md §3 result."""
    bbox_results, segm_results = result if isinstance(result, tuple) else (result, None)
    dets = np.concatenate([b for b in bbox_results], axis=0).reshape(-1, 5)
    labels = np.concatenate([np.full(len(b), c) for c, b in enumerate(bbox_results)])
    masks = [] if segm_results is None else [m for segs in segm_results for m in segs]
    return dets, labels.astype(np.int64), masks


def _compare(mm_result, tv_result) -> dict:
    """Pair detections one to one (same label, nearest box) and return the worst differences."""
    mm_dets, mm_labels, mm_masks = _flatten(mm_result)
    tv_dets, tv_labels, tv_masks = _flatten(tv_result)
    assert len(mm_dets) == len(tv_dets), (len(mm_dets), len(tv_dets))
    used = np.zeros(len(mm_dets), dtype=bool)
    box_diff, score_diff, min_iou = 0.0, 0.0, 1.0
    for j in range(len(tv_dets)):
        cost = np.abs(mm_dets[:, :4] - tv_dets[j, :4]).max(axis=1)
        cost[(mm_labels != tv_labels[j]) | used] = np.inf
        i = int(np.argmin(cost))
        assert np.isfinite(cost[i]), f'torchvision detection {j} has no mmdet_lite twin'
        used[i] = True
        box_diff = max(box_diff, float(cost[i]))
        score_diff = max(score_diff, float(abs(mm_dets[i, 4] - tv_dets[j, 4])))
        if tv_masks:
            a, b = mm_masks[i], tv_masks[j]
            assert a.shape == b.shape
            union = np.logical_or(a, b).sum()
            iou = 1.0 if union == 0 else np.logical_and(a, b).sum() / union
            min_iou = min(min_iou, float(iou))
    return dict(num=len(tv_dets), box=box_diff, score=score_diff, mask_iou=min_iou)


def _run_both(kind: str, tv_model, sizes, optimize: bool = False) -> List[dict]:
    mm_model = _mm_model(kind, tv_model)
    if optimize:  # BN folded + channels_last, as init_detector / tools/test.py run it
        optimize_for_inference(mm_model)
        assert mm_model.inference_settings.folded_pairs == 53  # stem + 16 blocks x 3 + 4
    img, metas = _batch(sizes)
    with torch.no_grad():
        mm_results = mm_model.simple_test(img, metas, rescale=True)
    tv_results = torchvision_to_mmdet_results(torchvision_detect(tv_model, img, sizes))
    assert len(mm_results) == len(tv_results) == len(sizes)
    for (h, w), result in zip(sizes, mm_results):
        if isinstance(result, tuple):
            for segs in result[1]:
                assert all(m.shape == (h, w) and m.dtype == bool for m in segs)
    return [_compare(a, b) for a, b in zip(mm_results, tv_results)]


def test_mask_rcnn_parity_two_image_batch():
    # Different image sizes in one padded batch: per-image clipping, anchor strides from the
    # padded size (352 // 6 = 58 on P6), masks pasted at each image's own size.
    stats = _run_both('mask', _tv_model(with_mask=True), [(256, 352), (224, 288)])
    print('mask parity', stats)
    assert min(s['num'] for s in stats) >= 20  # several real detections in each image
    for s in stats:
        assert s['box'] <= 0.01
        assert s['score'] <= 1e-4
        assert s['mask_iou'] >= 0.98


def test_mask_rcnn_parity_with_inference_speedups():
    # BN folding and channels_last change float rounding only: same detections within 1e-4
    stats = _run_both('mask', _tv_model(with_mask=True), [(224, 288)], optimize=True)
    print('mask parity, BN folded + channels_last', stats)
    assert stats[0]['num'] >= 20
    assert stats[0]['box'] <= 0.01 and stats[0]['score'] <= 1e-4
    assert stats[0]['mask_iou'] >= 0.98


def test_retinanet_parity_two_image_batch():
    tv_model = _tv_model(with_mask=False, kind=TV_KINDS['retina'])
    # the anchor sizes torchvision truncates to integers (40, not 40.3): exactly its anchors
    mm_model = _mm_model('retina', tv_model)
    tv_anchors = tv_model.anchor_generator.cell_anchors
    assert all(torch.equal(a, b) for a, b in zip(
        tv_anchors, mm_model.bbox_head.prior_generator.base_anchors))
    for optimize in (False, True):
        stats = _run_both('retina', tv_model, [(256, 352), (224, 288)], optimize=optimize)
        print('retinanet parity', optimize, stats)
        for s in stats:
            assert s['num'] == 300  # max_per_img: many scores above the threshold
            assert s['box'] <= 0.01 and s['score'] <= 1e-4


def test_faster_rcnn_parity():
    stats = _run_both('faster', _tv_model(with_mask=False, seed=1), [(224, 320)])
    print('faster parity', stats)
    assert stats[0]['num'] >= 20
    assert stats[0]['box'] <= 0.01 and stats[0]['score'] <= 1e-4


def test_mask_rcnn_parity_no_detection():
    tv_model = _tv_model(with_mask=True, boost=False)
    with torch.no_grad():  # background always wins: nothing passes score_thr
        tv_model.roi_heads.box_predictor.cls_score.weight.zero_()
        tv_model.roi_heads.box_predictor.cls_score.bias.zero_()
        tv_model.roi_heads.box_predictor.cls_score.bias[0] = 20.0
    mm_model = _mm_model('mask', tv_model)
    img, metas = _batch([(96, 128)])
    with torch.no_grad():
        bbox_results, segm_results = mm_model.simple_test(img, metas, rescale=True)[0]
    assert len(torchvision_detect(tv_model, img, [(96, 128)])[0]['boxes']) == 0
    assert len(bbox_results) == len(segm_results) == 80
    assert all(b.shape == (0, 5) for b in bbox_results) and all(s == [] for s in segm_results)


def test_convert_class_layout_by_hand():
    torch.manual_seed(0)
    tv_sd = {
        'roi_heads.box_predictor.cls_score.weight': torch.randn(91, 8),
        'roi_heads.box_predictor.cls_score.bias': torch.randn(91),
        'roi_heads.box_predictor.bbox_pred.weight': torch.randn(91 * 4, 8),
        'roi_heads.box_predictor.bbox_pred.bias': torch.randn(91 * 4),
        'roi_heads.mask_predictor.mask_fcn_logits.weight': torch.randn(91, 8, 1, 1),
        'roi_heads.mask_predictor.mask_fcn_logits.bias': torch.randn(91),
    }
    ckpt = torchvision_to_mmdet_checkpoint(tv_sd)
    sd = ckpt['state_dict']
    assert ckpt['meta']['CLASSES'] == MMDET_COCO_CLASSES
    assert TV_COCO_CATEGORIES[13] == 'stop sign' == MMDET_COCO_CLASSES[11]
    cls_w = tv_sd['roi_heads.box_predictor.cls_score.weight']
    reg_b = tv_sd['roi_heads.box_predictor.bbox_pred.bias']
    # person: torchvision 1 -> label 0; stop sign: 13 -> 11; toothbrush: 90 -> 79; bg 0 -> 80
    for tv_id, label in ((1, 0), (13, 11), (90, 79)):
        assert torch.equal(sd['roi_head.bbox_head.fc_cls.weight'][label], cls_w[tv_id])
        assert torch.equal(sd['roi_head.bbox_head.fc_reg.bias'][4 * label:4 * label + 4],
                           reg_b[4 * tv_id:4 * tv_id + 4])
        assert torch.equal(sd['roi_head.mask_head.conv_logits.bias'][label],
                           tv_sd['roi_heads.mask_predictor.mask_fcn_logits.bias'][tv_id])
    assert torch.equal(sd['roi_head.bbox_head.fc_cls.weight'][80], cls_w[0])
    assert sd['roi_head.bbox_head.fc_cls.weight'].shape == (81, 8)
    assert sd['roi_head.bbox_head.fc_reg.weight'].shape == (320, 8)
    assert sd['roi_head.mask_head.conv_logits.weight'].shape == (80, 8, 1, 1)
    labels = torchvision_labels_to_mmdet(torch.tensor([1, 13, 90, 12, 0]))
    assert labels.tolist() == [0, 11, 79, -1, -1]  # 12 is an unused id, 0 the background

    # and back: kept rows exact, unused ids can never score
    back = convert_mmdet_to_torchvision_state_dict(sd)
    ids = [0] + coco_class_ids()
    assert torch.equal(back['roi_heads.box_predictor.cls_score.weight'][ids], cls_w[ids])
    assert torch.all(back['roi_heads.box_predictor.cls_score.bias'][UNUSED_IDS]
                     == ABSENT_CLASS_BIAS)
    assert torch.all(back['roi_heads.box_predictor.cls_score.weight'][UNUSED_IDS] == 0)


def test_convert_frozen_bn_and_legacy_names_and_custom_classes():
    from torchvision.models import resnet50
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.mask_rcnn import MaskRCNN
    from torchvision.ops.misc import FrozenBatchNorm2d
    torch.manual_seed(0)
    # the layout of the published COCO checkpoints: FrozenBatchNorm2d (no counters)...
    backbone = _resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3)
    tv_sd = MaskRCNN(backbone, num_classes=4).state_dict()
    assert not any(k.endswith('num_batches_tracked') for k in tv_sd)
    # ...and pre-0.13 module names
    legacy = {}
    for key, value in tv_sd.items():
        key = key.replace('rpn.head.conv.0.0.', 'rpn.head.conv.')
        key = key.replace('backbone.fpn.inner_blocks.0.0.', 'backbone.fpn.inner_blocks.0.')
        for i in range(4):
            key = key.replace(f'roi_heads.mask_head.{i}.0.',
                              f'roi_heads.mask_head.mask_fcn{i + 1}.')
        legacy['module.' + key] = value
    new = convert_torchvision_state_dict(tv_sd)
    old = convert_torchvision_state_dict(dict(model=legacy))
    assert list(new) == list(old) and all(torch.equal(new[k], old[k]) for k in new)
    assert new['backbone.layer1.0.bn1.num_batches_tracked'] == 0
    assert torch.equal(new['rpn_head.rpn_conv.weight'], tv_sd['rpn.head.conv.0.0.weight'])
    assert torch.equal(new['roi_head.mask_head.convs.3.conv.bias'],
                       tv_sd['roi_heads.mask_head.3.0.bias'])
    # a 4-output predictor (background + 3 classes): all three kept, background last
    ckpt = torchvision_to_mmdet_checkpoint(tv_sd, class_names=['a', 'b', 'c'])
    assert ckpt['meta']['CLASSES'] == ('a', 'b', 'c')
    fc_cls = ckpt['state_dict']['roi_head.bbox_head.fc_cls.weight']
    assert torch.equal(fc_cls, tv_sd['roi_heads.box_predictor.cls_score.weight'][[1, 2, 3, 0]])
    # keys and shapes equal those of mmdet_lite's Mask R-CNN (built with 3 classes)
    cfg = Config.fromfile(CONFIGS['mask'])
    cfg.model.roi_head.bbox_head.num_classes = 3
    cfg.model.roi_head.mask_head.num_classes = 3
    model = build_detector(cfg.model)
    model.load_state_dict(ckpt['state_dict'], strict=True)


def test_convert_bad_input():
    with pytest.raises(KeyError, match='keypoint'):
        convert_torchvision_state_dict({
            'roi_heads.box_predictor.cls_score.weight': torch.zeros(91, 2),
            'roi_heads.keypoint_head.0.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='cls_score'):
        convert_torchvision_state_dict({'backbone.body.conv1.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='outside 1..90'):
        convert_torchvision_state_dict(
            {'roi_heads.box_predictor.cls_score.weight': torch.zeros(91, 2)}, class_ids=[0, 5])
    with pytest.raises(ValueError, match='empty'):
        convert_torchvision_state_dict({})


def test_converter_cli(tmp_path, monkeypatch, capsys):
    from mmdet_lite.engine import load_checkpoint_safely
    src, dst = tmp_path / 'tv.pth', tmp_path / 'out' / 'mm.pth'
    torch.save({'roi_heads.box_predictor.cls_score.weight': torch.randn(91, 4),
                'roi_heads.box_predictor.cls_score.bias': torch.randn(91),
                'backbone.body.conv1.weight': torch.randn(2, 3, 1, 1)}, src)
    monkeypatch.setattr(sys, 'argv', ['torchvision2mmdet.py', str(src), str(dst)])
    runpy.run_path(osp.join(REPO, 'tools/model_converters/torchvision2mmdet.py'),
                   run_name='__main__')
    assert '80 classes' in capsys.readouterr().out
    ckpt = load_checkpoint_safely(str(dst))  # weights_only loading accepts the file
    assert ckpt['meta']['CLASSES'] == MMDET_COCO_CLASSES
    assert set(ckpt['state_dict']) == {'roi_head.bbox_head.fc_cls.weight',
                                       'roi_head.bbox_head.fc_cls.bias', 'backbone.conv1.weight'}


def test_benchmark_times_same_inputs_interleaved(monkeypatch):
    calls = []  # (runner, input tensor) in the order they ran
    real_tv = benchmark_mod.torchvision_detect
    real_run = benchmark_mod.run_inference

    def tv_detect(model, img, sizes):
        calls.append(('torchvision', img))
        return real_tv(model, img, sizes)

    def run_inference(model, fn):
        real_simple_test = model.simple_test

        def simple_test(img, metas, rescale=False):
            calls.append((id(model), img))
            return real_simple_test(img, metas, rescale=rescale)
        model.simple_test = simple_test
        try:
            return real_run(model, fn)
        finally:
            del model.simple_test

    monkeypatch.setattr(benchmark_mod, 'torchvision_detect', tv_detect)
    monkeypatch.setattr(benchmark_mod, 'run_inference', run_inference)
    report = run_benchmark(CONFIGS['faster'], compare_torchvision=True, shape=(64, 96),
                           num_images=2, warmup=1, batch_size=2, timer='process',
                           variants=['mmdet_lite (plain)'])
    assert [row['name'] for row in report['rows']] == ['mmdet_lite', 'mmdet_lite (plain)',
                                                       'torchvision']
    assert len(calls) == 9  # 3 batches x 3 models
    for b in range(3):
        batch = calls[3 * b:3 * b + 3]
        assert len({name for name, _ in batch}) == 3  # every model once per batch
        assert all(img is batch[0][1] for _, img in batch)  # on the very same tensor
        assert batch[0][1].shape == (2, 3, 64, 96)
    assert calls[0][0] != calls[3][0] != calls[6][0]  # the order rotates
    for row in report['rows']:
        assert row['same_counts'] and row['max_score_diff'] <= 1e-4
        assert row['min_s'] <= row['median_s'] <= row['max_s']
    assert report['ratio'] > 0 and report['threads'] == torch.get_num_threads()
    text = format_benchmark(report)
    assert 'mmdet_lite / torchvision' in text and '2x3x64x96' in text
    assert set(MMDET_VARIANTS) >= {'mmdet_lite (plain)'}
    with pytest.raises(ValueError, match='--shape'):
        run_benchmark(CONFIGS['faster'], shape=(16, 16))

"""Faster / Mask R-CNN: 2.x state dicts, checkpoints, training inputs, result formats."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.core import BitmapMasks
from mmdet_lite.engine import load_checkpoint
from mmdet_lite.models import build_detector

from ._two_stage_utils import img_meta, metas, synthetic_images, tiny_mask_rcnn_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
REFERENCE = osp.join(ROOT, 'tests', 'data', 'reference')


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _r50_model(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', f'{name}_rcnn_r50_fpn_1x.py'))
    cfg.model.backbone.init_cfg = None  # no download
    return build_detector(cfg.model)


def _reference(name):
    with open(osp.join(REFERENCE, f'mmdet2_{name}_rcnn_r50_fpn.json')) as f:
        return json.load(f)


@pytest.mark.parametrize('name', ['faster', 'mask'])
def test_state_dict_equals_mmdet2_reference(name):
    model = _r50_model(name)
    ours = [[k, list(v.shape), str(v.dtype).replace('torch.', '')]
            for k, v in model.state_dict().items()]
    reference = _reference(name)
    assert ours == reference['keys']
    assert sum(int(np.prod(s)) for _, s, _ in ours) == reference['num_elements']


def test_mmdet2_checkpoint_loads_strictly(tmp_path):
    # A checkpoint laid out as 2.x's model zoo files: meta with CLASSES, a plain state dict,
    # made from the reference key list alone.
    reference = _reference('faster')
    generator = torch.Generator().manual_seed(0)
    state_dict = {}
    for key, shape, dtype in reference['keys']:
        if dtype == 'int64':
            state_dict[key] = torch.tensor(7)
        else:
            state_dict[key] = torch.rand(shape, generator=generator)
    classes = tuple(f'class_{i}' for i in range(80))
    path = str(tmp_path / 'faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth')
    torch.save(dict(meta=dict(CLASSES=classes, mmdet_version='2.28.2'), state_dict=state_dict),
               path)
    model = _r50_model('faster')
    checkpoint = load_checkpoint(model, path, strict=True)
    assert tuple(checkpoint['meta']['CLASSES']) == classes
    loaded = model.state_dict()
    for key in ('roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.shared_fcs.0.bias',
                'rpn_head.rpn_reg.weight', 'backbone.layer4.2.bn3.running_var'):
        assert torch.equal(loaded[key], state_dict[key])
    # a key that 2.x does not have is an error under strict=True
    state_dict['roi_head.bbox_head.extra.weight'] = torch.zeros(1)
    torch.save(dict(meta=dict(CLASSES=classes), state_dict=state_dict), path)
    with pytest.raises(RuntimeError, match='extra'):
        load_checkpoint(_r50_model('faster'), path, strict=True)


def _tiny(with_mask=True, **test_rcnn):
    cfg = tiny_mask_rcnn_cfg(num_classes=2, with_mask=with_mask)
    cfg['test_cfg']['rcnn'].update(test_rcnn)
    torch.manual_seed(0)
    return build_detector(cfg)


def test_forward_train_with_empty_gt(one_thread):
    model = _tiny()
    imgs, gt_bboxes, gt_labels, gt_masks, _ = synthetic_images()
    empty_masks = BitmapMasks(np.zeros((0, 96, 128), np.uint8), 96, 128)
    # one image without objects
    losses = model.forward_train(imgs, metas(2), [gt_bboxes[0], torch.zeros(0, 4)],
                                 [gt_labels[0], torch.zeros(0, dtype=torch.long)],
                                 gt_masks=[gt_masks[0], empty_masks])
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'acc', 'loss_bbox',
            'loss_mask'} <= set(losses)
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss) and 'acc' in log_vars
    loss.backward()
    # no object in the whole batch: only negatives, box and mask losses are zero
    model.zero_grad()
    losses = model.forward_train(imgs, metas(2), [torch.zeros(0, 4)] * 2,
                                 [torch.zeros(0, dtype=torch.long)] * 2,
                                 gt_masks=[empty_masks, empty_masks])
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss)
    assert log_vars['loss_bbox'] == 0 and log_vars['loss_mask'] == 0
    assert log_vars['loss_cls'] > 0
    loss.backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad is not None


def test_forward_train_with_precomputed_proposals(one_thread):
    cfg = tiny_mask_rcnn_cfg(num_classes=2)
    cfg.pop('rpn_head')
    cfg['type'] = 'TwoStageDetector'  # Fast R-CNN style: proposals come with the data
    model = build_detector(cfg)
    imgs, gt_bboxes, gt_labels, gt_masks, _ = synthetic_images()
    proposals = [torch.tensor([[5., 8., 42., 40., 0.9], [0., 0., 30., 30., 0.5]]),
                 torch.zeros(0, 5)]
    losses = model.forward_train(imgs, metas(2), gt_bboxes, gt_labels, gt_masks=gt_masks,
                                 proposals=proposals)
    assert 'loss_rpn_cls' not in losses and losses['loss_mask'] > 0
    with pytest.raises(ValueError, match='proposals'):
        model.forward_train(imgs, metas(2), gt_bboxes, gt_labels, gt_masks=gt_masks)
    model.eval()
    with torch.no_grad():
        results = model.simple_test(imgs, metas(2), proposals=proposals, rescale=True)
    assert len(results) == 2 and all(len(r[0]) == 2 for r in results)


def _check_mask_rcnn_result(result, num_classes, ori_hw):
    bbox_results, segm_results = result
    assert len(bbox_results) == num_classes and len(segm_results) == num_classes
    for dets, masks in zip(bbox_results, segm_results):
        assert isinstance(dets, np.ndarray) and dets.dtype == np.float32
        assert dets.ndim == 2 and dets.shape[1] == 5
        assert len(masks) == len(dets)
        for mask in masks:
            assert mask.shape == ori_hw and mask.dtype == bool


def test_simple_test_format_at_original_size_and_without_detections(one_thread):
    model = _tiny(score_thr=0.0)  # an untrained model: keep every box
    model.eval()
    imgs = synthetic_images()[0]
    # the batch is a 2x resize of 48x64 originals
    img_metas = [img_meta(96, 128, scale=2.0, ori=(48, 64)) for _ in range(2)]
    with torch.no_grad():
        results = model.simple_test(imgs, copy.deepcopy(img_metas), rescale=True)
    assert len(results) == 2
    for result in results:
        _check_mask_rcnn_result(result, 2, (48, 64))
    assert sum(len(d) for d in results[0][0]) > 0
    dets = np.concatenate(results[0][0])
    assert dets[:, [0, 2]].max() <= 64 and dets[:, [1, 3]].max() <= 48
    # an image without proposals has no detection; the other keeps its results
    proposals = [torch.tensor([[10., 10., 40., 40., 1.]]), torch.zeros(0, 5)]
    with torch.no_grad():
        results = model.simple_test(imgs, copy.deepcopy(img_metas), proposals=proposals,
                                    rescale=True)
    _check_mask_rcnn_result(results[0], 2, (48, 64))
    _check_mask_rcnn_result(results[1], 2, (48, 64))
    assert [d.shape for d in results[1][0]] == [(0, 5), (0, 5)] and results[1][1] == [[], []]
    # no detection in the whole batch (score threshold 1)
    strict = _tiny(score_thr=1.0)
    strict.eval()
    with torch.no_grad():
        results = strict(imgs, copy.deepcopy(img_metas), mode='predict')
    for bbox_results, segm_results in results:
        assert [d.shape for d in bbox_results] == [(0, 5), (0, 5)]
        assert segm_results == [[], []]
    # rescale=False: masks at the resized image size
    with torch.no_grad():
        results = model.simple_test(imgs, copy.deepcopy(img_metas), rescale=False)
    _check_mask_rcnn_result(results[0], 2, (96, 128))


def test_faster_rcnn_results_and_aug_test(one_thread):
    model = _tiny(with_mask=False, score_thr=0.0)
    assert not model.with_mask and model.with_bbox and model.with_rpn
    model.eval()
    imgs = synthetic_images()[0]
    with torch.no_grad():
        results = model.simple_test(imgs, metas(2), rescale=True)
    assert len(results) == 2 and all(len(r) == 2 for r in results)
    assert all(isinstance(d, np.ndarray) and d.shape[1] == 5 for r in results for d in r)
    # test-time augmentation: original + horizontal flip of one image
    flipped_meta = img_meta(96, 128)
    flipped_meta.update(flip=True, flip_direction='horizontal')
    aug_imgs = [imgs[:1], imgs[:1].flip(-1)]
    aug_metas = [[img_meta(96, 128)], [flipped_meta]]
    with torch.no_grad():
        results = model(aug_imgs, aug_metas, mode='predict')
    assert len(results) == 1 and len(results[0]) == 2
    assert sum(len(d) for d in results[0]) > 0


def test_mask_rcnn_aug_test(one_thread):
    model = _tiny(score_thr=0.0)
    model.eval()
    imgs = synthetic_images()[0]
    flipped_meta = img_meta(96, 128, scale=2.0, ori=(48, 64))
    flipped_meta.update(flip=True, flip_direction='horizontal')
    with torch.no_grad():
        results = model([imgs[:1], imgs[:1].flip(-1)],
                        [[img_meta(96, 128, scale=2.0, ori=(48, 64))], [flipped_meta]],
                        mode='predict')
    assert len(results) == 1
    _check_mask_rcnn_result(results[0], 2, (48, 64))

import json
import os

import numpy as np
import pytest
import torch
from mmengine import Config

from mmdet_lite.models import build_detector
from mmdet_lite.models.detectors import RPN, RetinaNet, SingleStageDetector

# Tiny models: one torch thread (tests/conftest.py) avoids oversubscribing shared CPUs.
pytestmark = pytest.mark.usefixtures('one_thread')

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
REFERENCE = os.path.join(REPO, 'tests', 'data', 'reference')


def _reference(name):
    with open(os.path.join(REFERENCE, name)) as f:
        return [(k, tuple(shape), dtype) for k, shape, dtype in json.load(f)['keys']]


def _entries(model):
    return [(k, tuple(v.shape), str(v.dtype).replace('torch.', ''))
            for k, v in model.state_dict().items()]


def test_retinanet_config_state_dict_equals_mmdet2_reference():
    cfg = Config.fromfile(os.path.join(REPO, 'configs', 'retinanet_r50_fpn_1x.py'))
    model = build_detector(cfg.model)
    assert isinstance(model, RetinaNet)
    assert _entries(model) == _reference('mmdet2_retinanet_r50_fpn.json')
    assert cfg.optimizer.lr == 0.01


def test_rpn_config_matches_the_faster_rcnn_reference_backbone_neck_rpn():
    cfg = Config.fromfile(os.path.join(REPO, 'configs', '_base_', 'models', 'rpn_r50_fpn.py'))
    model = build_detector(cfg.model)
    assert isinstance(model, RPN)
    expected = [e for e in _reference('mmdet2_faster_rcnn_r50_fpn.json')
                if not e[0].startswith('roi_head.')]
    assert _entries(model) == expected


def _tiny_retinanet(num_classes=2):
    return build_detector(dict(
        type='RetinaNet',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3)),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
                  add_extra_convs='on_input', num_outs=5),
        bbox_head=dict(type='RetinaHead', num_classes=num_classes, in_channels=16,
                       stacked_convs=1, feat_channels=16,
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                     loss_weight=1.0),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=7)))


def _metas(n, shape=(40, 56), scale=1.0, flip=False):
    return [dict(filename=f'im{i}.jpg', ori_filename=f'im{i}.jpg',
                 ori_shape=(round(shape[0] / scale), round(shape[1] / scale), 3),
                 img_shape=(*shape, 3), pad_shape=(*shape, 3),
                 scale_factor=np.array([scale] * 4, dtype=np.float32), flip=flip,
                 flip_direction='horizontal' if flip else None) for i in range(n)]


def test_single_stage_forward_modes_and_result_format():
    torch.manual_seed(0)
    model = _tiny_retinanet()
    assert isinstance(model, SingleStageDetector) and model.with_neck and model.with_bbox
    img = torch.randn(2, 3, 40, 56)
    gt_bboxes = [torch.tensor([[4., 5., 30., 33.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([1]), torch.zeros(0, dtype=torch.long)]
    metas = _metas(2)
    losses = model(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    assert metas[0]['batch_input_shape'] == (40, 56)
    losses2 = model(img=img, img_metas=_metas(2), gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                    return_loss=True)
    torch.testing.assert_close(sum(losses['loss_cls']), sum(losses2['loss_cls']))
    model.eval()
    with torch.no_grad():
        results = model([img], [_metas(2, scale=0.5)], return_loss=False)
        plain = model.simple_test(img, _metas(2), rescale=False)
    assert len(results) == 2
    for per_img, per_img_plain in zip(results, plain):
        assert len(per_img) == 2
        assert all(isinstance(r, np.ndarray) and r.shape[1] == 5 for r in per_img)
        assert sum(len(r) for r in per_img) == 7
        # forward_test rescales by default: boxes / 0.5.
        np.testing.assert_allclose(np.concatenate(per_img)[:, :4],
                                   np.concatenate(per_img_plain)[:, :4] * 2, rtol=1e-5)
    feats = model(img, mode='tensor')
    assert len(feats) == 5 and feats[0].shape == (2, 16, 5, 7)


def test_single_stage_aug_test_flip():
    torch.manual_seed(0)
    model = _tiny_retinanet()
    model.eval()
    img = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        results = model([img, img.flip(-1)], [_metas(1), _metas(1, flip=True)],
                        return_loss=False)
    assert len(results) == 1 and len(results[0]) == 2
    dets = np.concatenate(results[0])
    assert 0 < len(dets) <= 7
    assert np.all(dets[:, 2] <= 56 + 1e-4) and np.all(dets[:, 0] >= -1e-4)


def test_pretrained_argument_becomes_backbone_init_cfg(tmp_path):
    import torchvision
    path = str(tmp_path / 'r18.pth')
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    cfg = dict(type='RetinaNet', pretrained=path,
               backbone=dict(type='ResNet', depth=18),
               neck=dict(type='FPN', in_channels=[64, 128, 256, 512], out_channels=8,
                         start_level=1, add_extra_convs='on_input', num_outs=5),
               bbox_head=dict(type='RetinaHead', num_classes=2, in_channels=8,
                              stacked_convs=1, feat_channels=8,
                              loss_cls=dict(type='FocalLoss', use_sigmoid=True)),
               test_cfg=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                             max_per_img=10))
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        model = build_detector(cfg)
    assert 'init_cfg' not in cfg['backbone']
    model.init_weights()
    ref = torch.load(path, weights_only=True)
    torch.testing.assert_close(model.backbone.layer2[0].conv1.weight, ref['layer2.0.conv1.weight'])


def _tiny_rpn():
    return build_detector(dict(
        type='RPN',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3)),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5),
        rpn_head=dict(type='RPNHead', in_channels=16, feat_channels=16,
                      anchor_generator=dict(type='AnchorGenerator', scales=[8],
                                            ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64]),
                      loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                      loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False)),
        test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=50,
                               nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0))))


def test_rpn_detector_losses_and_proposals():
    torch.manual_seed(0)
    model = _tiny_rpn()
    img = torch.randn(2, 3, 40, 56)
    losses = model(img, _metas(2), gt_bboxes=[torch.tensor([[4., 5., 30., 33.]]),
                                              torch.zeros(0, 4)], mode='loss')
    assert set(losses) == {'loss_rpn_cls', 'loss_rpn_bbox'}
    # Labels from a pipeline that collects them are accepted and ignored.
    model.forward_train(img, _metas(2), [torch.zeros(0, 4)] * 2,
                        gt_labels=[torch.zeros(0, dtype=torch.long)] * 2)
    model.eval()
    with torch.no_grad():
        props = model.simple_test(img, _metas(2), rescale=False)
        scaled = model.simple_test(img, _metas(2, scale=2.0), rescale=True)
        aug = model.aug_test([img[:1], img[:1].flip(-1)], [_metas(1), _metas(1, flip=True)],
                             rescale=True)
    assert len(props) == 2
    for p, s in zip(props, scaled):
        assert isinstance(p, np.ndarray) and p.shape[1] == 5 and 0 < p.shape[0] <= 50
        np.testing.assert_allclose(s[:, :4] * 2, p[:, :4], rtol=1e-5)
    assert len(aug) == 1 and aug[0].shape[1] == 5 and aug[0].shape[0] <= 50


def test_rpn_detector_needs_test_cfg_and_gt():
    with pytest.raises(ValueError, match='test_cfg=dict\\(rpn='):
        build_detector(dict(type='RPN', backbone=dict(type='ResNet', depth=18), neck=None,
                            rpn_head=dict(type='RPNHead', in_channels=512), train_cfg=None,
                            test_cfg=None))
    model = _tiny_rpn()
    with pytest.raises(ValueError, match='gt_bboxes'):
        model.forward_train(torch.randn(1, 3, 32, 32), _metas(1, shape=(32, 32)))

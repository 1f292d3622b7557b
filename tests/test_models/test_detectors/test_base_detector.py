"""BaseDetector owns backbone/neck, the deprecated ``pretrained``, ``extract_feat`` and config
storage: Faster R-CNN, RetinaNet and RPN differ only in their heads."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict

from mmdet_lite.models import build_detector
from mmdet_lite.models.detectors import BaseDetector

from ._two_stage_utils import tiny_mask_rcnn_cfg

pytestmark = pytest.mark.usefixtures('one_thread')

_BACKBONE = dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3))
_NECK = dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5)


def _retinanet_cfg():
    return dict(
        type='RetinaNet', backbone=copy.deepcopy(_BACKBONE), neck=copy.deepcopy(_NECK),
        bbox_head=dict(type='RetinaHead', num_classes=2, in_channels=16, stacked_convs=1,
                       feat_channels=16, loss_cls=dict(type='FocalLoss', use_sigmoid=True)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=10))


def _rpn_cfg():
    faster = tiny_mask_rcnn_cfg(with_mask=False)
    return dict(type='RPN', backbone=copy.deepcopy(_BACKBONE), neck=copy.deepcopy(_NECK),
                rpn_head=dict(faster['rpn_head'], in_channels=16, feat_channels=16),
                train_cfg=dict(rpn=faster['train_cfg']['rpn']),
                test_cfg=dict(rpn=faster['test_cfg']['rpn']))


def _faster_cfg():
    return tiny_mask_rcnn_cfg(with_mask=False)


CONFIGS = dict(FasterRCNN=_faster_cfg, RetinaNet=_retinanet_cfg, RPN=_rpn_cfg)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_configs_are_stored_as_private_config_dict_copies(name):
    cfg = CONFIGS[name]()
    before = repr(cfg)
    model = build_detector(cfg)
    assert isinstance(model, BaseDetector)
    for key in ('train_cfg', 'test_cfg'):
        stored = getattr(model, key)
        assert isinstance(stored, ConfigDict) and stored == cfg[key]
        assert stored is not cfg[key]
    model.test_cfg.clear()
    assert repr(cfg) == before
    # One extract_feat: the base class's, backbone then neck.
    assert type(model).extract_feat is BaseDetector.extract_feat
    img = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.extract_feat(img)
        expected = model.neck(model.backbone(img))
    assert len(feats) == 5 and all(torch.equal(a, b) for a, b in zip(feats, expected))
    assert list(model.state_dict())[0].startswith('backbone.')


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_deprecated_pretrained_warns_as_2x_and_reaches_the_backbone(name):
    cfg = dict(CONFIGS[name](), pretrained='torchvision://resnet18')
    with pytest.warns(UserWarning, match='DeprecationWarning: pretrained is deprecated, please '
                                         'use "init_cfg" instead'):
        model = build_detector(cfg)
    assert model.backbone.init_cfg == dict(type='Pretrained',
                                           checkpoint='torchvision://resnet18')
    assert 'pretrained' not in cfg['backbone'] and 'init_cfg' not in cfg['backbone']


def test_heads_get_their_part_of_the_detector_configs():
    faster = build_detector(_faster_cfg())
    assert faster.rpn_head.train_cfg == faster.train_cfg.rpn
    assert faster.rpn_head.test_cfg == faster.test_cfg.rpn
    assert faster.roi_head.train_cfg == faster.train_cfg.rcnn
    assert faster.roi_head.test_cfg == faster.test_cfg.rcnn
    assert faster.roi_head.test_cfg is not faster.test_cfg.rcnn
    retina = build_detector(_retinanet_cfg())
    assert retina.bbox_head.test_cfg == retina.test_cfg
    rpn = build_detector(_rpn_cfg())
    assert rpn.rpn_head.test_cfg == rpn.test_cfg.rpn

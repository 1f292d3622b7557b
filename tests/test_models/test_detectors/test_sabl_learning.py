"""Learning tests of SABL on CPU: a tiny SABL Faster R-CNN and a tiny SABL RetinaNet (ResNet-18
FPN, the heads of configs/sabl_*_r50_fpn_1x.py) overfit two synthetic images, then find every
object with IoU >= 0.7 (which needs the buckets and offsets to localise the boxes).

The R-CNN's bucket losses are averaged over all sampled RoIs, so they grow with the share of
positives as the RPN improves (here from ~3 to ~8 of 32): the offset loss still halves, the
bucket-classification loss is not required to fall.
"""
import copy

import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from . import _two_stage_utils as two_stage
from . import one_stage_learning as one_stage
from .test_retinanet_learning import BOXES, LABELS, _images, _metas


def tiny_sabl_faster_rcnn_cfg(feat: int = 32) -> dict:
    cfg = two_stage.tiny_two_stage_cfg('configs/faster_rcnn_r50_fpn_1x.py', num_classes=2,
                                       feat=feat)
    head = copy.deepcopy(Config.fromfile('configs/sabl_faster_rcnn_r50_fpn_1x.py')
                         .model.roi_head.bbox_head.to_dict())
    head.update(num_classes=2, cls_in_channels=feat, reg_in_channels=feat, cls_out_channels=64,
                reg_offset_out_channels=feat, reg_cls_out_channels=feat)
    cfg['roi_head']['bbox_head'] = head
    cfg['roi_head']['bbox_roi_extractor']['roi_layer']['sampling_ratio'] = 2
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    cfg['train_cfg']['rcnn']['sampler'].update(num=32)
    cfg['test_cfg']['rpn'].update(nms_pre=300, max_per_img=100)
    return cfg


def test_sabl_faster_rcnn_overfits_two_synthetic_images(one_thread):
    torch.manual_seed(0)
    model = build_detector(tiny_sabl_faster_rcnn_cfg())
    imgs, gt_bboxes, gt_labels, _, _ = two_stage.synthetic_images()
    history = two_stage.overfit(model, imgs, 100, gt_bboxes=gt_bboxes, gt_labels=gt_labels)
    for key, fall in (('loss_rpn_cls', 0.8), ('loss_rpn_bbox', 0.8), ('loss_cls', 0.8),
                      ('loss_bbox_reg', 0.4)):
        assert two_stage.loss_fall(history, key) >= fall, (key, history[:5], history[-10:])
    model.eval()
    with torch.no_grad():
        results = model(imgs, two_stage.metas(2), mode='predict')
    two_stage.assert_finds_every_object(results, gt_bboxes, gt_labels)


def test_sabl_retinanet_overfits_two_synthetic_images(one_thread):
    model_cfg = Config.fromfile('configs/sabl_retinanet_r50_fpn_1x.py').model
    head = copy.deepcopy(model_cfg.bbox_head.to_dict())
    head.update(num_classes=2, in_channels=32, feat_channels=32, stacked_convs=2)
    model = one_stage.tiny_detector('RetinaNet', head, model_cfg.train_cfg.to_dict())
    history, results = one_stage.overfit(model, 60, lr=3e-3)
    final = sum(history[-5:]) / 5
    assert final <= 0.2 * history[0], (history[0], final)
    one_stage.assert_finds_every_object(results, min_score=0.5)

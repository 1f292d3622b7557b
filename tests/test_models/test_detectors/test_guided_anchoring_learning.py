"""Learning tests of guided anchoring on CPU: a tiny GA-RPN and a tiny GA-RetinaNet (ResNet-18
FPN) overfit two synthetic images, then cover / detect every object with IoU >= 0.7.

Training is 2.x's (the configs' gradient clipping included), so the location branch first
unlearns its focal-loss prior: 2.x feeds the location targets to a one-class focal loss as
labels, which reads "1" (a GT centre) as background (see ``GuidedAnchorHead``). That costs
GA-RetinaNet some 40 iterations before its classifier starts learning.
"""
import copy

import torch
from mmengine.config import Config

from . import _two_stage_utils as two_stage
from . import one_stage_learning as one_stage
from . import rpn_learning as rpn
from .test_retinanet_learning import BOXES, LABELS, _images, _metas


def test_ga_rpn_overfits_two_synthetic_images(one_thread):
    torch.manual_seed(0)
    model = rpn.tiny_rpn('configs/ga_rpn_r50_fpn_1x.py')
    imgs, gt_bboxes, _, _, _ = two_stage.synthetic_images()
    history = rpn.overfit_clipped(model, imgs, two_stage.metas(2), 100, 3e-3,
                                  gt_bboxes=gt_bboxes)
    # classification-type losses vanish; the regression-type ones reach their noise floor on
    # a handful of positives
    for key, fall in (('loss_rpn_cls', 0.8), ('loss_anchor_loc', 0.8), ('loss_rpn_bbox', 0.5),
                      ('loss_anchor_shape', 0.5)):
        assert two_stage.loss_fall(history, key) >= fall, (key, history[:5], history[-10:])
    model.eval()
    with torch.no_grad():
        rpn.assert_proposals_cover(model(imgs, two_stage.metas(2), mode='predict'), gt_bboxes)


def test_ga_retinanet_overfits_two_synthetic_images(one_thread):
    torch.manual_seed(0)
    head = copy.deepcopy(Config.fromfile('configs/ga_retinanet_r50_fpn_1x.py')
                         .model.bbox_head.to_dict())
    head.update(stacked_convs=2, num_classes=2, in_channels=32, feat_channels=32)
    train_cfg = copy.deepcopy(Config.fromfile('configs/ga_retinanet_r50_fpn_1x.py')
                              .model.train_cfg.to_dict())
    model = one_stage.tiny_detector('RetinaNet', head, train_cfg)
    model.init_weights()
    history = rpn.overfit_clipped(model, _images(), _metas(), 100, 3e-3, gt_bboxes=BOXES,
                                  gt_labels=LABELS)
    for key, fall in (('loss_cls', 0.8), ('loss_bbox', 0.8), ('loss_loc', 0.8),
                      ('loss_shape', 0.1)):
        assert two_stage.loss_fall(history, key) >= fall, (key, history[:5], history[-10:])
    model.eval()
    with torch.no_grad():
        results = model.simple_test(_images(), _metas(), rescale=True)
    one_stage.assert_finds_every_object(results, min_score=0.5)

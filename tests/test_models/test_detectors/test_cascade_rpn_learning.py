"""Learning test of Cascade RPN on CPU: a tiny two-stage Cascade RPN (ResNet-18 FPN, the
stages of configs/crpn_faster_rcnn_r50_fpn_1x.py) overfits two synthetic images; the first
stage's regression and the second stage's objectness losses fall and the best proposals cover
every object with IoU >= 0.7. (The second stage's box loss is not expected to fall: its
positives, refined anchors with IoU >= 0.7, multiply as the first stage improves.)"""
import torch

from . import _two_stage_utils as two_stage
from . import rpn_learning as rpn


def test_cascade_rpn_overfits_two_synthetic_images(one_thread):
    torch.manual_seed(0)
    model = rpn.tiny_rpn('configs/crpn_faster_rcnn_r50_fpn_1x.py')
    imgs, gt_bboxes, _, _, _ = two_stage.synthetic_images()
    history = rpn.overfit_clipped(model, imgs, two_stage.metas(2), 150, 3e-3,
                                  gt_bboxes=gt_bboxes)
    for key, fall in (('s0.loss_rpn_reg', 0.8), ('s1.loss_rpn_cls', 0.7)):
        assert two_stage.loss_fall(history, key) >= fall, (key, history[:5], history[-10:])
    model.eval()
    with torch.no_grad():
        rpn.assert_proposals_cover(model(imgs, two_stage.metas(2), mode='predict'), gt_bboxes)

"""Learning test: a small Cascade Mask R-CNN (ResNet-18 FPN, three stages) overfits two
synthetic images: every stage's losses fall, and ``simple_test`` finds every object with the
right class, box and mask."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, loss_fall, metas, overfit,
                               synthetic_images, tiny_two_stage_cfg)

ITERS = 150
CONFIG = 'configs/_base_/models/cascade_mask_rcnn_r50_fpn.py'


def tiny_cascade_cfg() -> dict:
    cfg = tiny_two_stage_cfg(CONFIG, num_classes=2, fc_out_channels=256)
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        # 2x2 samples per bin: a smaller RoIAlign backward, same learning problem
        cfg['roi_head'][key]['roi_layer']['sampling_ratio'] = 2
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    for stage_cfg in cfg['train_cfg']['rcnn']:
        stage_cfg['sampler'].update(num=32)
    cfg['test_cfg']['rpn'].update(nms_pre=300, max_per_img=100)
    return cfg


def test_cascade_mask_rcnn_overfits_two_images(one_thread):
    torch.manual_seed(0)
    model = build_detector(tiny_cascade_cfg())
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = synthetic_images()
    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                      gt_masks=gt_masks)
    keys = ['loss_rpn_cls', 'loss_rpn_bbox'] + [
        f's{stage}.{name}' for stage in range(3)
        for name in ('loss_cls', 'loss_bbox', 'loss_mask')]
    for key in keys:
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    assert_finds_every_object(results, gt_bboxes, gt_labels, bitmaps)

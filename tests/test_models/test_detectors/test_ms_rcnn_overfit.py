"""Learning test: a small Mask Scoring R-CNN (ResNet-18 FPN) overfits two synthetic images: the
box, mask and mask-IoU losses fall, ``simple_test`` finds every object with its mask, and the
mask scores (box score times predicted mask IoU) of those detections are high."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, loss_fall, metas, overfit,
                               synthetic_images, tiny_two_stage_cfg)

ITERS = 150
CONFIG = 'configs/ms_rcnn_r50_fpn_1x.py'


def test_ms_rcnn_overfits_two_images(one_thread):
    torch.manual_seed(0)
    cfg = tiny_two_stage_cfg(CONFIG, num_classes=2, fc_out_channels=256)
    roi = cfg['roi_head']
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        # 2x2 samples per bin: a smaller RoIAlign backward, same learning problem
        roi[key]['roi_layer']['sampling_ratio'] = 2
    roi['mask_iou_head'].update(in_channels=32, conv_out_channels=32, fc_out_channels=128,
                                num_classes=2)
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    cfg['train_cfg']['rcnn']['sampler'].update(num=32)
    cfg['test_cfg']['rpn'].update(nms_pre=300, max_per_img=100)
    model = build_detector(cfg)
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = synthetic_images()
    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                      gt_masks=gt_masks)
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask', 'loss_mask_iou'):
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    masks_only = [(bbox, segm) for bbox, (segm, _) in results]
    assert_finds_every_object(masks_only, gt_bboxes, gt_labels, bitmaps)
    for (bbox_results, (_, mask_scores)), labels in zip(results, gt_labels):
        for label in labels.tolist():
            assert len(mask_scores[label]) == len(bbox_results[label])
            # the best detection's mask is good: its predicted IoU keeps the score high
            assert mask_scores[label].max() >= 0.5, (bbox_results[label], mask_scores[label])

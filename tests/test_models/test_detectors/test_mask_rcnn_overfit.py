"""Learning test: a small Mask R-CNN (ResNet-18 FPN) overfits two synthetic images."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, jittered_proposals, loss_fall, metas,
                               overfit, synthetic_images, tiny_mask_rcnn_cfg)

ITERS = 300


def _probe_losses(model, imgs, gt_bboxes, gt_labels, gt_masks, proposals):
    """RoI-head losses on fixed proposals, with a fixed sampling seed (a function of weights)."""
    model.eval()
    with torch.no_grad():
        x = model.extract_feat(imgs)
        torch.manual_seed(123)
        losses = model.roi_head.forward_train(x, metas(2), proposals, gt_bboxes, gt_labels,
                                              gt_masks=gt_masks)
    model.train()
    return {k: float(v) for k, v in losses.items() if k in ('loss_bbox', 'loss_mask')}


def test_mask_rcnn_overfits_two_images(one_thread):
    torch.manual_seed(0)
    cfg = tiny_mask_rcnn_cfg(num_classes=2)
    cfg['roi_head']['bbox_head']['fc_out_channels'] = 256
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    cfg['train_cfg']['rcnn']['sampler'].update(num=32)
    model = build_detector(cfg)
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = synthetic_images()
    probe = [jittered_proposals(b) for b in gt_bboxes]
    before = _probe_losses(model, imgs, gt_bboxes, gt_labels, gt_masks, probe)

    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                      gt_masks=gt_masks)
    after = _probe_losses(model, imgs, gt_bboxes, gt_labels, gt_masks, probe)

    # training log: mean of the first 5 vs the last 10 iterations
    for key in ('loss_bbox', 'loss_mask', 'loss_cls', 'loss_rpn_cls'):
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])
    # on fixed jittered GT boxes (never trained on as such) the losses fall too
    assert after['loss_mask'] <= 0.2 * before['loss_mask'], (before, after)
    assert after['loss_bbox'] <= 0.5 * before['loss_bbox'], (before, after)

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    assert_finds_every_object(results, gt_bboxes, gt_labels, bitmaps)

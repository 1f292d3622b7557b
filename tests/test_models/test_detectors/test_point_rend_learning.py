"""Learning test of PointRend on CPU: a tiny PointRend (ResNet-18 FPN, the heads of
configs/point_rend_r50_fpn_1x.py) overfits two synthetic images; its losses fall and the
refined masks of every object reach IoU >= 0.7."""
import torch

from mmdet_lite.models import build_detector

from . import _two_stage_utils as two_stage


def tiny_point_rend_cfg(feat: int = 32) -> dict:
    cfg = two_stage.tiny_two_stage_cfg('configs/point_rend_r50_fpn_1x.py', num_classes=2,
                                       feat=feat)
    roi = cfg['roi_head']
    roi['mask_head'].update(fc_out_channels=128)
    roi['point_head'].update(in_channels=feat, fc_channels=feat, num_classes=2)
    roi['bbox_roi_extractor']['roi_layer']['sampling_ratio'] = 2
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    cfg['train_cfg']['rcnn']['sampler'].update(num=32)
    cfg['test_cfg']['rpn'].update(nms_pre=300, max_per_img=100)
    return cfg


def test_point_rend_overfits_two_synthetic_images(one_thread):
    torch.manual_seed(0)
    model = build_detector(tiny_point_rend_cfg())
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = two_stage.synthetic_images()
    history = two_stage.overfit(model, imgs, 150, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                                gt_masks=gt_masks)
    # the point loss has a floor: 3/4 of the training points are the most uncertain ones, on
    # the mask boundary, where the bilinearly sampled GT is fractional (BCE >= its entropy)
    for key, fall in (('loss_rpn_cls', 0.8), ('loss_cls', 0.8), ('loss_mask', 0.8),
                      ('loss_point', 0.7)):
        assert two_stage.loss_fall(history, key) >= fall, (key, history[:5], history[-10:])
    model.eval()
    with torch.no_grad():
        results = model(imgs, two_stage.metas(2), mode='predict')
    two_stage.assert_finds_every_object(results, gt_bboxes, gt_labels, bitmaps)

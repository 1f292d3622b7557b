"""Learning test: a small Hybrid Task Cascade with its semantic branch (ResNet-18 FPN) overfits
two synthetic images: every stage's losses and the semantic loss fall, and ``simple_test``
finds every object with the right class, box and mask."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, loss_fall, metas, overfit,
                               semantic_maps, synthetic_images, tiny_two_stage_cfg)

ITERS = 150
CONFIG = 'configs/htc_r50_fpn_1x.py'


def tiny_htc_cfg() -> dict:
    cfg = tiny_two_stage_cfg(CONFIG, num_classes=2, fc_out_channels=256)
    roi = cfg['roi_head']
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        # 2x2 samples per bin: a smaller RoIAlign backward, same learning problem
        roi[key]['roi_layer']['sampling_ratio'] = 2
    roi['semantic_roi_extractor'].update(out_channels=32)
    # background, rectangles, ellipses
    roi['semantic_head'].update(in_channels=32, conv_out_channels=32, num_convs=2,
                                num_classes=3)
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    for stage_cfg in cfg['train_cfg']['rcnn']:
        stage_cfg['sampler'].update(num=32)
    cfg['test_cfg']['rpn'].update(nms_pre=300, max_per_img=100)
    cfg['test_cfg']['rcnn'].update(score_thr=0.05)
    return cfg


def test_htc_overfits_two_images(one_thread):
    torch.manual_seed(0)
    model = build_detector(tiny_htc_cfg())
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = synthetic_images()
    gt_semantic_seg = semantic_maps(bitmaps, gt_labels, *imgs.shape[-2:])
    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                      gt_masks=gt_masks, gt_semantic_seg=gt_semantic_seg)
    keys = ['loss_rpn_cls', 'loss_rpn_bbox', 'loss_semantic_seg'] + [
        f's{stage}.{name}' for stage in range(3)
        for name in ('loss_cls', 'loss_bbox', 'loss_mask')]
    for key in keys:
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    assert_finds_every_object(results, gt_bboxes, gt_labels, bitmaps)

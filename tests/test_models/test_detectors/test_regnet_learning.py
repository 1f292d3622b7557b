"""Learning test: Faster R-CNN on a tiny RegNetX backbone (grouped ResNeXt blocks, 3x3/2 stem,
no max-pool) overfits the two synthetic images and then finds every object."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, loss_fall, metas, overfit,
                               synthetic_images, tiny_mask_rcnn_cfg)

# stage widths (16, 32, 64, 128), blocks (1, 1, 3, 1), group width 8
TINY_REGNET = dict(type='RegNet', arch=dict(w0=16, wa=16.0, wm=2.0, group_w=8, depth=6,
                                            bot_mul=1.0),
                   stem_channels=16, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                   norm_eval=False)


def test_faster_rcnn_regnet_overfits_two_images(one_thread):
    torch.manual_seed(0)
    cfg = tiny_mask_rcnn_cfg(num_classes=2, with_mask=False)
    cfg['backbone'] = TINY_REGNET
    cfg['neck']['in_channels'] = [16, 32, 64, 128]
    cfg['roi_head']['bbox_head']['fc_out_channels'] = 128
    model = build_detector(cfg)
    assert model.backbone.stage_widths == [16, 32, 64, 128]
    model.init_weights()
    imgs, gt_bboxes, gt_labels, _, _ = synthetic_images()
    history = overfit(model, imgs, 120, gt_bboxes=gt_bboxes, gt_labels=gt_labels)
    # loss_bbox starts low (few positive proposals at first), so only the others must fall 80%
    for key in ('loss_cls', 'loss_rpn_cls', 'loss_rpn_bbox'):
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])
    assert loss_fall(history, 'loss_bbox') >= 0.3, (history[:5], history[-10:])
    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    assert_finds_every_object(results, gt_bboxes, gt_labels)

"""Learning test: a small Grid R-CNN (ResNet-18 FPN, 3x3 grid head) overfits two synthetic
images: classification and grid losses fall, and the grid-localised boxes find every object."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, loss_fall, metas, overfit,
                               synthetic_images, tiny_two_stage_cfg)

ITERS = 200
# the tiny parity config: 2.28's Grid R-CNN RoI head on mmdet_lite's Faster R-CNN base
CONFIG = 'tests/data/mmdet2_detectors/grid_rcnn.py'


def test_grid_rcnn_overfits_two_images(one_thread):
    torch.manual_seed(0)
    cfg = tiny_two_stage_cfg(CONFIG, num_classes=2, fc_out_channels=256)
    roi = cfg['roi_head']
    for key in ('bbox_roi_extractor', 'grid_roi_extractor'):
        # 2x2 samples per bin: a smaller RoIAlign backward, same learning problem
        roi[key].update(out_channels=32)
        roi[key]['roi_layer']['sampling_ratio'] = 2
    roi['grid_head'].update(in_channels=32, num_convs=2, point_feat_channels=8)
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    cfg['train_cfg']['rcnn']['sampler'].update(num=32)
    # 2-px target disks (2.x's configs: 1 px): more positive pixels, heatmaps learn faster
    cfg['train_cfg']['rcnn']['pos_radius'] = 2
    cfg['test_cfg']['rcnn'].update(score_thr=0.05)
    model = build_detector(cfg)
    imgs, gt_bboxes, gt_labels, _, _ = synthetic_images()
    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels)
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_grid'):
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    assert_finds_every_object(results, gt_bboxes, gt_labels)

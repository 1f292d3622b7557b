"""Learning test: a small SCNet (ResNet-18 FPN; semantic, global-context and feature-relay
branches) overfits two synthetic images: the box stages', mask, semantic and context losses
fall, and ``simple_test`` finds every object with the right class, box and mask."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, loss_fall, metas, overfit,
                               semantic_maps, synthetic_images, tiny_two_stage_cfg)

ITERS = 150
# the tiny parity config (2.28's SCNet RoI head on the tiny HTC)
CONFIG = 'tests/data/mmdet2_detectors/scnet.py'
FEAT = 32


def tiny_scnet_cfg() -> dict:
    cfg = tiny_two_stage_cfg(CONFIG, num_classes=2, fc_out_channels=256, feat=FEAT)
    roi = cfg['roi_head']
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        # 2x2 samples per bin: a smaller RoIAlign backward, same learning problem
        roi[key]['roi_layer']['sampling_ratio'] = 2
    roi['semantic_roi_extractor'].update(out_channels=FEAT)
    # background, rectangles, ellipses
    roi['semantic_head'].update(in_channels=FEAT, conv_out_channels=FEAT, num_classes=3)
    roi['glbctx_head'].update(in_channels=FEAT, conv_out_channels=FEAT, num_classes=2)
    roi['feat_relay_head'].update(in_channels=256, out_conv_channels=FEAT)
    cfg['train_cfg']['rpn_proposal'].update(nms_pre=300, max_per_img=50)
    for stage_cfg in cfg['train_cfg']['rcnn']:
        stage_cfg['sampler'].update(num=32)
    return cfg


def test_scnet_overfits_two_images(one_thread):
    torch.manual_seed(0)
    model = build_detector(tiny_scnet_cfg())
    imgs, gt_bboxes, gt_labels, gt_masks, bitmaps = synthetic_images()
    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                      gt_masks=gt_masks,
                      gt_semantic_seg=semantic_maps(bitmaps, gt_labels, *imgs.shape[-2:]))
    keys = ['loss_rpn_cls', 'loss_semantic_seg', 'loss_glbctx', 'loss_mask'] + [
        f's{stage}.{name}' for stage in range(3) for name in ('loss_cls', 'loss_bbox')]
    for key in keys:
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict')
    assert_finds_every_object(results, gt_bboxes, gt_labels, bitmaps)

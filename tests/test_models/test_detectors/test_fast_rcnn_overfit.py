"""Learning test: a small Fast R-CNN (ResNet-18 FPN, no RPN) overfits two synthetic images from
pre-computed proposals, and finds every object among other proposals at test time."""
import torch

from mmdet_lite.models import build_detector

from ._two_stage_utils import (assert_finds_every_object, jittered_proposals, loss_fall, metas,
                               overfit, synthetic_images, tiny_two_stage_cfg)

ITERS = 120
CONFIG = 'configs/_base_/models/fast_rcnn_r50_fpn.py'


def proposals_for(gt_bboxes, seed: int, h: int = 96, w: int = 128):
    """Per image: jittered copies of the GT boxes plus 30 random boxes, with scores
    (K, 5), as a proposal file holds them."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for boxes in gt_bboxes:
        xy = torch.rand(30, 2, generator=g) * torch.tensor([w * 0.8, h * 0.8])
        wh = 8 + torch.rand(30, 2, generator=g) * torch.tensor([w * 0.4, h * 0.4])
        random = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([w, h]))], dim=1)
        jittered = jittered_proposals(boxes)
        if seed % 2:  # another jitter for the test proposals
            jittered = jittered + torch.randn(jittered.shape, generator=g)
        props = torch.cat([jittered, random])
        out.append(torch.cat([props, torch.rand(len(props), 1, generator=g)], dim=1))
    return out


def test_fast_rcnn_overfits_two_images_from_proposals(one_thread):
    torch.manual_seed(0)
    cfg = tiny_two_stage_cfg(CONFIG, num_classes=2, fc_out_channels=256)
    cfg['roi_head']['bbox_roi_extractor']['roi_layer']['sampling_ratio'] = 2
    cfg['train_cfg']['rcnn']['sampler'].update(num=32)
    model = build_detector(cfg)
    imgs, gt_bboxes, gt_labels, _, _ = synthetic_images()
    history = overfit(model, imgs, ITERS, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                      proposals=proposals_for(gt_bboxes, seed=0))
    for key in ('loss_cls', 'loss_bbox'):
        assert loss_fall(history, key) >= 0.8, (key, history[:5], history[-10:])

    model.eval()
    with torch.no_grad():
        results = model(imgs, metas(2), mode='predict',
                        proposals=[proposals_for(gt_bboxes, seed=1)])
    assert_finds_every_object(results, gt_bboxes, gt_labels)

import math

import pytest
import torch
from torchvision.ops import batched_nms as tv_batched_nms

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import RetinaHead

from ._helpers import feats_for, make_metas, retina_cfg

# Tiny models: one torch thread (tests/conftest.py) avoids oversubscribing shared CPUs.
pytestmark = pytest.mark.usefixtures('one_thread')

STRIDES = [8, 16, 32, 64, 128]


def _head(**kw):
    torch.manual_seed(0)
    head = build_head(retina_cfg(**kw))
    head.init_weights()
    return head


def test_retina_head_layers_and_init():
    head = _head()
    assert isinstance(head, RetinaHead)
    assert head.num_base_priors == 9 and head.cls_out_channels == 3
    keys = set(head.state_dict())
    assert {'cls_convs.0.conv.weight', 'cls_convs.1.conv.bias', 'reg_convs.1.conv.weight',
            'retina_cls.weight', 'retina_reg.bias'} <= keys
    assert head.retina_cls.weight.shape == (27, 8, 3, 3)
    # Focal-loss prior: sigmoid(bias) = 0.01.
    torch.testing.assert_close(torch.sigmoid(head.retina_cls.bias),
                               torch.full((27,), 0.01), rtol=1e-4, atol=1e-6)


def test_retina_forward_shapes():
    head = _head()
    feats = feats_for((64, 96), STRIDES, batch=2)
    cls_scores, bbox_preds = head(feats)
    assert len(cls_scores) == len(bbox_preds) == 5
    for f, c, b in zip(feats, cls_scores, bbox_preds):
        assert c.shape == (2, 27, *f.shape[-2:]) and b.shape == (2, 36, *f.shape[-2:])


def test_empty_gt_gives_cls_loss_only():
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss(cls_scores, bbox_preds, [torch.zeros(0, 4)],
                       [torch.zeros(0, dtype=torch.long)], make_metas())
    loss_cls = sum(losses['loss_cls'])
    loss_bbox = sum(losses['loss_bbox'])
    assert loss_cls.item() > 0
    assert loss_bbox.item() == 0


def test_one_gt_gives_both_losses_and_grads_reach_every_parameter():
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    losses = head.forward_train(feats, make_metas(), [torch.tensor([[10., 12., 50., 44.]])],
                                [torch.tensor([2])])
    loss_cls, loss_bbox = sum(losses['loss_cls']), sum(losses['loss_bbox'])
    assert loss_cls.item() > 0 and loss_bbox.item() > 0
    (loss_cls + loss_bbox).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_regression_targets_match_hand_computed_deltas():
    """A GT equal to one anchor: that anchor is positive with zero deltas and label 2."""
    head = _head()
    featmap_sizes = [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]
    metas = make_metas()
    anchor_list, valid_flags = head.get_anchors(featmap_sizes, metas)
    # Level 0, location (row 3, col 4), first base anchor (ratio 0.5, scale 4): centre (32, 24),
    # base size 8 (the stride): w = 8 * 4 / sqrt(0.5), h = 8 * 4 * sqrt(0.5).
    w, h = 8 * 4 / math.sqrt(0.5), 8 * 4 * math.sqrt(0.5)
    gt = torch.tensor([[32 - w / 2, 24 - h / 2, 32 + w / 2, 24 + h / 2]])
    idx = (3 * 12 + 4) * 9
    torch.testing.assert_close(anchor_list[0][0][idx], gt[0])
    labels, label_w, bbox_t, bbox_w, num_pos, num_neg = head.get_targets(
        anchor_list, valid_flags, [gt], metas, gt_labels_list=[torch.tensor([2])])
    assert labels[0][0, idx] == 2 and label_w[0][0, idx] == 1
    torch.testing.assert_close(bbox_t[0][0, idx], torch.zeros(4))
    assert torch.all(bbox_w[0][0, idx] == 1)
    total = sum(l.numel() for l in labels)
    assert num_pos == int(sum((l < 3).sum() for l in labels)) >= 1
    # No sampler with focal loss: every anchor is a positive, a negative or ignored (0.4-0.5).
    assert num_pos + num_neg <= total


def test_get_bboxes_matches_independent_decode_and_torchvision_nms():
    head = _head()
    head.test_cfg.nms_pre = 20
    head.test_cfg.max_per_img = 15
    head.test_cfg.score_thr = 0.3
    feats = feats_for((64, 96), STRIDES, batch=2)
    cls_scores, bbox_preds = head(feats)
    cls_scores = [torch.randn_like(c) * 2 for c in cls_scores]
    bbox_preds = [torch.randn_like(b) * 0.2 for b in bbox_preds]
    metas = make_metas(2, scale_factor=2.0)
    results = head.get_bboxes(cls_scores, bbox_preds, img_metas=metas, rescale=True)
    priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores])
    for img in range(2):
        boxes, scores, labels = [], [], []
        for c, b, p in zip(cls_scores, bbox_preds, priors):
            s = c[img].permute(1, 2, 0).reshape(-1, 3).sigmoid()
            d = b[img].permute(1, 2, 0).reshape(-1, 4)
            flat = s.flatten()
            keep = torch.nonzero(flat > 0.3).squeeze(1)
            keep = keep[flat[keep].argsort(descending=True)][:20]
            pidx, lab = keep // 3, keep % 3
            # Independent DeltaXYWH decode (means 0, stds 1), clipped to the 64 x 96 image.
            pw, ph = p[pidx, 2] - p[pidx, 0], p[pidx, 3] - p[pidx, 1]
            px, py = p[pidx, 0] + 0.5 * pw, p[pidx, 1] + 0.5 * ph
            dw = d[pidx, 2].clamp(-abs(math.log(16 / 1000)), abs(math.log(16 / 1000)))
            dh = d[pidx, 3].clamp(-abs(math.log(16 / 1000)), abs(math.log(16 / 1000)))
            gw, gh = pw * dw.exp(), ph * dh.exp()
            gx, gy = px + pw * d[pidx, 0], py + ph * d[pidx, 1]
            box = torch.stack([gx - gw / 2, gy - gh / 2, gx + gw / 2, gy + gh / 2], 1)
            box[:, 0::2] = box[:, 0::2].clamp(0, 96)
            box[:, 1::2] = box[:, 1::2].clamp(0, 64)
            boxes.append(box), scores.append(flat[keep]), labels.append(lab)
        boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
        keep = tv_batched_nms(boxes, scores, labels, 0.5)[:15]
        det_bboxes, det_labels = results[img]
        assert det_bboxes.shape == (len(keep), 5)
        torch.testing.assert_close(det_bboxes[:, :4], boxes[keep] / 2, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(det_bboxes[:, 4], scores[keep])
        assert torch.equal(det_labels, labels[keep])


def test_get_bboxes_zero_detections_and_without_nms():
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    cls_scores, bbox_preds = head(feats)
    cls_scores = [torch.full_like(c, -20.) for c in cls_scores]
    (det_bboxes, det_labels), = head.get_bboxes(cls_scores, bbox_preds, img_metas=make_metas())
    assert det_bboxes.shape == (0, 5) and det_labels.shape == (0,)
    head.test_cfg.score_thr = 0.0
    bboxes, scores, labels = head.get_bboxes(cls_scores, bbox_preds, img_metas=make_metas(),
                                             with_nms=False)[0]
    # Every (prior, class) pair has score sigmoid(-20) > 0: nms_pre=1000 caps each level.
    expected = sum(min(1000, c.shape[-2] * c.shape[-1] * 27) for c in cls_scores)
    assert bboxes.shape == (expected, 4)
    assert scores.shape == labels.shape == (bboxes.shape[0],)


def test_simple_test_and_flip_aug_test_merge():
    head = _head()
    head.test_cfg.score_thr = 0.0
    head.test_cfg.max_per_img = 30
    feats = feats_for((64, 96), STRIDES)
    with torch.no_grad():
        (det_bboxes, det_labels), = head.simple_test(feats, make_metas())
    assert det_bboxes.shape[1] == 5 and det_bboxes.shape[0] == det_labels.shape[0] <= 30

    metas0, metas1 = make_metas(), make_metas(flip=True)
    with torch.no_grad():
        merged_bboxes, merged_labels = head.aug_test([feats, feats], [metas0, metas1],
                                                     rescale=True)[0]
        b0, s0, l0 = head.get_bboxes(*head(feats), img_metas=metas0, with_nms=False)[0]
    # Independent merge: the flipped view's boxes mirrored in x (W = 96), one torchvision NMS.
    b1 = b0.clone()
    b1[:, 0], b1[:, 2] = 96 - b0[:, 2], 96 - b0[:, 0]
    boxes, scores, labels = torch.cat([b0, b1]), torch.cat([s0, s0]), torch.cat([l0, l0])
    keep = tv_batched_nms(boxes, scores, labels, 0.5)[:30]
    torch.testing.assert_close(merged_bboxes[:, :4], boxes[keep])
    torch.testing.assert_close(merged_bboxes[:, 4], scores[keep])
    assert torch.equal(merged_labels, labels[keep])


def test_bad_gt_box_error_names_the_image():
    head = _head()
    feats = feats_for((64, 96), STRIDES)
    outs = head(feats)
    metas = make_metas(names=['data/coco/000123.jpg'])
    with pytest.raises(ValueError, match=r"000123\.jpg.*x2 < x1|x2 < x1.*000123\.jpg"):
        head.loss(*outs, [torch.tensor([[50., 10., 20., 40.]])], [torch.tensor([0])], metas)
    with pytest.raises(ValueError, match=r'000123\.jpg.*non-finite'):
        head.loss(*outs, [torch.tensor([[5., 10., float('nan'), 40.]])], [torch.tensor([0])],
                  metas)
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        head.loss(*outs, [torch.tensor([[5., 10., 20., 40.]])], [torch.tensor([3])], metas)


def test_no_anchor_inside_image_raises_with_fix():
    cfg = retina_cfg()
    cfg['train_cfg']['allowed_border'] = 0
    head = build_head(cfg)
    # 16 x 16 image: the smallest anchor (32 x 32 at stride 8) never fits inside.
    feats = feats_for((16, 16), STRIDES)
    outs = head(feats)
    with pytest.raises(ValueError, match='no anchor lies inside.*allowed_border=-1'):
        head.loss(*outs, [torch.tensor([[2., 2., 10., 10.]])], [torch.tensor([0])],
                  make_metas(img_shape=(16, 16)))


def test_image_smaller_than_largest_stride():
    head = _head()
    feats = feats_for((20, 24), STRIDES)
    assert feats[-1].shape[-2:] == (1, 1)
    losses = head.forward_train(feats, make_metas(img_shape=(20, 24)),
                                [torch.tensor([[2., 3., 18., 17.]])], [torch.tensor([1])])
    assert sum(losses['loss_cls']).item() > 0 and sum(losses['loss_bbox']).item() > 0
    (det_bboxes, det_labels), = head.simple_test(feats, make_metas(img_shape=(20, 24)))
    assert det_bboxes.shape[1] == 5
    assert torch.all(det_bboxes[:, 2] <= 24) and torch.all(det_bboxes[:, 3] <= 20)


def test_missing_train_cfg_error():
    cfg = retina_cfg()
    cfg['train_cfg'] = None
    head = build_head(cfg)
    outs = head(feats_for((64, 96), STRIDES))
    with pytest.raises(ValueError, match='train_cfg'):
        head.loss(*outs, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], make_metas())

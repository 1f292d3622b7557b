"""Guided anchoring: masked conv, location targets against worked values, losses with empty
and non-empty ground truth, test-time location filtering (GARPNHead / GARetinaHead)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads import GARetinaHead, GARPNHead
from mmdet_lite.models.layers import MaskedConv2d, masked_conv2d
from mmdet_lite.models.utils.results import DenseCandidates, Detections

from ._helpers import feats_for, make_metas

pytestmark = pytest.mark.usefixtures('one_thread')

RPN_STRIDES = [4, 8, 16, 32, 64]
RETINA_STRIDES = [8, 16, 32, 64, 128]


def ga_rpn_cfg(**kw):
    cfg = dict(
        type='GARPNHead', in_channels=8, feat_channels=8,
        approx_anchor_generator=dict(type='AnchorGenerator', octave_base_scale=8,
                                     scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                     strides=RPN_STRIDES),
        square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[8],
                                     strides=RPN_STRIDES),
        anchor_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                          target_stds=[0.07, 0.07, 0.14, 0.14]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[0.07, 0.07, 0.11, 0.11]),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            ga_assigner=dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                             min_pos_iou=0.3, ignore_iof_thr=-1),
            ga_sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                            add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, center_ratio=0.2, ignore_ratio=0.5),
        test_cfg=dict(nms_pre=1000, nms_post=1000, max_per_img=300, min_bbox_size=0,
                      nms=dict(type='nms', iou_threshold=0.7)))
    cfg.update(kw)
    return cfg


def ga_retina_cfg(**kw):
    cfg = dict(
        type='GARetinaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
        approx_anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                     scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                     strides=RETINA_STRIDES),
        square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[4],
                                     strides=RETINA_STRIDES),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.04, loss_weight=1.0),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.0, ignore_iof_thr=-1),
            ga_assigner=dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                             min_pos_iou=0.4, ignore_iof_thr=-1),
            ga_sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                            add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, center_ratio=0.2, ignore_ratio=0.5),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    cfg.update(kw)
    return cfg


def _head(cfg):
    torch.manual_seed(0)
    head = build_head(cfg)
    head.init_weights()
    return head


# ----------------------------------------------------------------------------- masked conv
@pytest.mark.parametrize('kernel', [1, 3])
def test_masked_conv_equals_conv_at_kept_positions_per_image(kernel):
    torch.manual_seed(0)
    conv = MaskedConv2d(4, 6, kernel, padding=(kernel - 1) // 2)
    x = torch.randn(2, 4, 7, 9, requires_grad=True)
    mask = torch.rand(2, 7, 9) > 0.5
    out = conv(x, mask)
    dense = F.conv2d(x, conv.weight, conv.bias, padding=(kernel - 1) // 2)
    torch.testing.assert_close(out, dense * mask[:, None])
    out.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    # no mask: the plain conv; an all-false mask: zeros
    torch.testing.assert_close(conv(x), dense)
    assert conv(x, torch.zeros(1, 7, 9, dtype=torch.bool)).abs().sum() == 0


def test_masked_conv_refuses_what_mmcv_refuses():
    x, mask = torch.randn(1, 4, 6, 6), torch.ones(1, 6, 6, dtype=torch.bool)
    with pytest.raises(ValueError, match='stride'):
        MaskedConv2d(4, 4, 3, stride=2, padding=1)(x, mask)
    with pytest.raises(ValueError, match='padding'):
        MaskedConv2d(4, 4, 3, padding=0)(x, mask)
    with pytest.raises(ValueError, match='mask'):
        masked_conv2d(x, torch.ones(6, 6), torch.randn(4, 4, 1, 1))


# ----------------------------------------------------------------------------- targets
def test_loc_targets_worked_example():
    head = _head(ga_rpn_cfg())
    # sqrt(32 * 32) = 32 = octave_base_scale 8 x stride 4: level 0. On level 0 the box is
    # (4, 4, 12, 12); centre (ratio 0.2): round(0.6 * 4 + 0.4 * 12) = 7 .. round(8.8) = 9;
    # ignore (ratio 0.5): round(3 + 3) = 6 .. round(1 + 9) = 10. On level 1 (box (2, 2, 6, 6))
    # the ignore region is round(1.5 + 1.5) = 3 .. round(0.5 + 4.5) = 5.
    gt = torch.tensor([[16., 16., 48., 48.]])
    sizes = [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]
    targets, weights, avg_factor = head.ga_loc_targets([gt], sizes)
    expect_t0 = torch.zeros(16, 16)
    expect_t0[7:10, 7:10] = 1
    expect_w0 = torch.full((16, 16), 0.1)
    expect_w0[6:11, 6:11] = 0
    expect_w0[7:10, 7:10] = 1
    torch.testing.assert_close(targets[0][0, 0], expect_t0)
    torch.testing.assert_close(weights[0][0, 0], expect_w0)
    expect_w1 = torch.full((8, 8), 0.1)
    expect_w1[3:6, 3:6] = 0
    assert targets[1].sum() == 0
    torch.testing.assert_close(weights[1][0, 0], expect_w1)
    for level in (2, 3, 4):
        assert targets[level].sum() == 0 and (weights[level] == 0.1).all()
    assert avg_factor == (256 + 64 + 16 + 4 + 1) / 200
    # no ground truth: every location negative with weight 0.1
    targets, weights, _ = head.ga_loc_targets([torch.zeros(0, 4)], sizes)
    assert all(t.sum() == 0 for t in targets) and all((w == 0.1).all() for w in weights)


def test_sampled_approxs_and_guided_anchors():
    head = _head(ga_rpn_cfg())
    sizes = [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]
    metas = make_metas(2, img_shape=(64, 96))
    approxs, flags = head.get_sampled_approxs(sizes, metas)
    assert [a.shape[0] for a in approxs[0]] == [9 * h * w for h, w in sizes]
    assert [f.shape[0] for f in flags[1]] == [h * w for h, w in sizes]
    shape_preds = [torch.zeros(2, 2, h, w) for h, w in sizes]
    loc_preds = [torch.zeros(2, 1, h, w) for h, w in sizes]
    loc_preds[0][1, 0, 0, :5] = -10.   # sigmoid < 0.01: filtered at test time
    squares, guided, masks = head.get_anchors(sizes, shape_preds, loc_preds, metas)
    # zero shape deltas: the guided anchors are the squares (8 x stride)
    torch.testing.assert_close(guided[0][0], squares[0][0])
    assert (guided[0][0][:, 2] - guided[0][0][:, 0] == 32).all()
    _, guided, masks = head.get_anchors(sizes, shape_preds, loc_preds, metas,
                                        use_loc_filter=True)
    assert masks[1][0].sum() == 16 * 24 - 5 and guided[1][0].shape[0] == 16 * 24 - 5
    assert masks[0][0].all()


# ----------------------------------------------------------------------------- losses
@pytest.mark.parametrize('cfg', [ga_rpn_cfg(), ga_retina_cfg()], ids=['rpn', 'retina'])
def test_losses_empty_and_one_gt(cfg):
    head = _head(cfg)
    strides = RPN_STRIDES if cfg['type'] == 'GARPNHead' else RETINA_STRIDES
    feats = feats_for((64, 96), strides)
    labels = None if cfg['type'] == 'GARPNHead' else [torch.zeros(0, dtype=torch.long)]
    losses = head.forward_train(feats, make_metas(), [torch.zeros(0, 4)], labels)
    names = (['loss_rpn_cls', 'loss_rpn_bbox', 'loss_anchor_shape', 'loss_anchor_loc']
             if cfg['type'] == 'GARPNHead' else
             ['loss_cls', 'loss_bbox', 'loss_shape', 'loss_loc'])
    assert set(losses) == set(names)
    total = {k: sum(v) for k, v in losses.items()}
    assert all(torch.isfinite(v) for v in total.values())
    assert total[names[0]] > 0 and total[names[3]] > 0
    assert total[names[1]] == 0 and total[names[2]] == 0
    sum(total.values()).backward()

    head.zero_grad()
    gt = [torch.tensor([[20., 10., 60., 50.]])]
    labels = None if cfg['type'] == 'GARPNHead' else [torch.tensor([2])]
    losses = head.forward_train(feats, make_metas(), gt, labels)
    total = {k: sum(v) for k, v in losses.items()}
    assert all(v > 0 for v in total.values()), total
    sum(total.values()).backward()
    assert head.conv_shape.weight.grad.abs().sum() > 0
    assert head.conv_loc.weight.grad.abs().sum() > 0


def test_feature_adaption_does_not_backprop_into_shape_branch():
    head = _head(ga_rpn_cfg())
    feats = feats_for((64, 96), RPN_STRIDES)
    cls_scores, _, _, _ = head(feats)
    sum(s.sum() for s in cls_scores).backward()
    assert head.conv_shape.weight.grad is None or head.conv_shape.weight.grad.abs().sum() == 0
    assert head.feature_adaption.conv_offset.weight.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- test time
def test_ga_rpn_proposals_loc_filter_and_nms_across_levels():
    head = _head(ga_rpn_cfg())
    head.eval()
    feats = feats_for((64, 96), RPN_STRIDES)
    proposals = head.simple_test_rpn(feats, make_metas())[0]
    assert proposals.dim() == 2 and proposals.shape[1] == 5 and 0 < len(proposals) <= 300
    assert (proposals[:-1, 4] >= proposals[1:, 4]).all()
    cfg = copy.deepcopy(head.test_cfg)
    cfg.update(nms_across_levels=True, max_per_img=20)
    outs = head(feats)
    across = head.get_bboxes(*outs, img_metas=make_metas(), cfg=cfg)[0]
    assert len(across) <= 20 and (across[:-1, 4] >= across[1:, 4]).all()
    # every location filtered by the location branch: no proposal, no error
    torch.nn.init.constant_(head.conv_loc.bias, -100.)
    assert head.simple_test_rpn(feats, make_metas())[0].shape == (0, 5)


def test_ga_retina_detections_batch_and_candidates():
    head = _head(ga_retina_cfg())
    torch.nn.init.constant_(head.retina_cls.bias, 0.)   # scores near 0.5: detections
    head.eval()
    feats = feats_for((64, 96), RETINA_STRIDES, batch=2)
    dets = head.simple_test(feats, make_metas(2))
    assert all(isinstance(d, Detections) for d in dets)
    assert 0 < len(dets[0].det_bboxes) <= 100
    # per-image location masks: image 1 of the batch equals image 1 alone
    alone = head.simple_test([f[1:] for f in feats], make_metas(1))[0]
    torch.testing.assert_close(dets[1].det_bboxes, alone.det_bboxes)
    torch.testing.assert_close(dets[1].det_labels, alone.det_labels)
    outs = head(feats)
    cands = head.get_bboxes(*outs, img_metas=make_metas(2), with_nms=False)
    assert isinstance(cands[0], DenseCandidates)
    assert (cands[0].scores > 0.05).all() and cands[0].labels.max() < 3
    torch.nn.init.constant_(head.conv_loc.bias, -100.)
    dets = head.simple_test(feats, make_metas(2))
    assert dets[0].det_bboxes.shape == (0, 5) and dets[0].det_labels.shape == (0, )


def test_construction_checks_and_deprecated_alias():
    head = _head(ga_retina_cfg())
    assert isinstance(head, GARetinaHead) and head.num_base_priors == 1
    assert head.approxs_per_octave == 9 and head.cls_out_channels == 3
    with pytest.warns(UserWarning, match='num_base_priors'):
        assert head.num_anchors == 1
    assert isinstance(_head(ga_rpn_cfg()), GARPNHead)
    bad = ga_rpn_cfg()
    bad['square_anchor_generator'] = dict(bad['square_anchor_generator'], scales=[4])
    with pytest.raises(ValueError, match='octave_base_scale'):
        build_head(bad)
    bad = ga_rpn_cfg()
    bad['train_cfg'] = dict(bad['train_cfg'])
    bad['train_cfg'].pop('ga_assigner')
    with pytest.raises(KeyError, match='ga_assigner'):
        build_head(bad)


def test_ga_retina_aug_test_merges_flipped_views():
    head = _head(ga_retina_cfg())
    torch.nn.init.constant_(head.retina_cls.bias, 0.)
    head.eval()
    feats = feats_for((64, 96), RETINA_STRIDES)
    flipped = [f.flip(-1) for f in feats]
    metas = [make_metas(1), make_metas(1, flip=True)]
    (dets, ) = head.aug_test([feats, flipped], metas)
    assert isinstance(dets, Detections) and 0 < len(dets.det_bboxes) <= 100
    assert (dets.det_bboxes[:, 2] <= 96).all() and (dets.det_bboxes[:, 0] >= 0).all()

"""Coders of the one-stage and legacy families: worked values and mmdetection 2.28's outputs."""
import math

import pytest
import torch

from mmdet_lite.core import (BucketingBBoxCoder, DeltaXYWHBBoxCoder, DistancePointBBoxCoder,
                             LegacyDeltaXYWHBBoxCoder, PseudoBBoxCoder, TBLRBBoxCoder,
                             YOLOBBoxCoder, bbox2distance, build_bbox_coder, distance2bbox)
from ..mmdet2_reference import reference


def close(actual, expected):
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_distance_transforms_by_hand():
    point = torch.tensor([[10., 20.]])
    assert distance2bbox(point, torch.tensor([[1., 2., 3., 4.]])).tolist() == [[9., 18., 13., 24.]]
    # clipped to w = 12, h = 20
    assert distance2bbox(point, torch.tensor([[1., 2., 3., 4.]]),
                         max_shape=(20, 12, 3)).tolist() == [[9., 18., 12., 20.]]
    box = torch.tensor([[9., 18., 13., 24.]])
    assert bbox2distance(point, box).tolist() == [[1., 2., 3., 4.]]
    # max_dis 3 clamps to 3 - eps; a point outside the box gets 0 on that side
    close(bbox2distance(point, box, max_dis=3), torch.tensor([[1., 2., 2.9, 2.9]]))
    assert bbox2distance(torch.tensor([[5., 20.]]), box, max_dis=10)[0, 0] == 0


def test_distance_point_coder():
    coder = build_bbox_coder(dict(type='DistancePointBBoxCoder'))
    points = torch.tensor([[10., 20.], [0., 0.]])
    dists = torch.tensor([[1., 2., 3., 4.], [5., 5., 5., 5.]])
    boxes = coder.decode(points, dists, max_shape=(22, 12))
    assert boxes.tolist() == [[9., 18., 12., 22.], [0., 0., 5., 5.]]
    assert DistancePointBBoxCoder(clip_border=False).decode(points, dists, (22, 12))[1, 0] == -5
    # batched points, one shape per image
    batched = coder.decode(points[None].repeat(2, 1, 1), dists[None].repeat(2, 1, 1),
                           max_shape=[(22, 12), (100, 100)])
    assert batched[0].tolist() == boxes.tolist() and batched[1, 0].tolist() == [9., 18., 13., 24.]
    assert coder.encode(points[:1], torch.tensor([[9., 18., 13., 24.]])).tolist() == [[1., 2.,
                                                                                      3., 4.]]
    with pytest.raises(ValueError, match='per-image'):
        coder.decode(points, dists, max_shape=[(22, 12), (10, 10)])
    with pytest.raises(ValueError, match=r'\(N, 2\) points'):
        coder.encode(points, torch.zeros(3, 4))
    assert coder.decode(torch.zeros(0, 2), torch.zeros(0, 4), (10, 10)).shape == (0, 4)


def test_yolo_coder_by_hand():
    coder = YOLOBBoxCoder()
    anchor = torch.tensor([[0., 0., 32., 32.]])  # centre 16, 32 x 32
    gt = torch.tensor([[8., 8., 40., 24.]])      # centre (24, 16), 32 x 16
    # cx = 8 / 32 + 0.5, cy = 0.5, dw = log 1, dh = log 1/2
    expected = torch.tensor([[0.75, 0.5, 0., math.log(0.5)]])
    close(coder.encode(anchor, gt, 32), expected)
    close(coder.decode(anchor, expected, 32), gt)
    # the encoded centre is clamped into (eps, 1 - eps): the GT centre lies outside the cell
    far = coder.encode(anchor, torch.tensor([[60., 0., 70., 10.]]), 32)
    assert far[0, 0] == pytest.approx(1 - 1e-6)


def test_tblr_coder_by_hand():
    prior = torch.tensor([[0., 0., 10., 20.]])  # centre (5, 10), w 10, h 20
    gt = torch.tensor([[2., 4., 12., 24.]])     # t 6, b 14, l 3, r 7
    coder = TBLRBBoxCoder(normalizer=4.0)
    expected = torch.tensor([[6 / 20, 14 / 20, 3 / 10, 7 / 10]]) / 4
    close(coder.encode(prior, gt), expected)
    close(coder.decode(prior, expected), gt)
    assert coder.decode(prior, expected, max_shape=(22, 11)).tolist() == [[2., 4., 11., 22.]]
    per_side = TBLRBBoxCoder(normalizer=[1., 2., 3., 4.])
    close(per_side.encode(prior, gt), expected * 4 / torch.tensor([1., 2., 3., 4.]))
    with pytest.raises(ValueError, match='4 numbers'):
        TBLRBBoxCoder(normalizer=[1., 2.])


def test_bucketing_coder_by_hand():
    # 4 buckets across a proposal of 8: side_num 2, bucket width 2; bucket centres from the
    # left side at x = 1, 3, from the right at 7, 5 (same for top / bottom)
    coder = BucketingBBoxCoder(num_buckets=4, scale_factor=1.0)
    proposal = torch.tensor([[0., 0., 8., 8.]])
    gt = torch.tensor([[1.5, 3., 7., 4.6]])
    offsets, offset_weights, labels, cls_weights = coder.encode(proposal, gt)
    close(offsets, torch.tensor([[-0.25, 0.75, 0., -1., -1., 0., 1.2, 0.2]]))
    # nearest bucket always, the second one when its offset is below 1
    assert offset_weights.tolist() == [[1., 1., 1., 0., 0., 1., 0., 1.]]
    assert labels.tolist() == [[1., 0., 1., 0., 0., 1., 0., 1.]]
    # the left side's second bucket lies within one bucket of the side: not a negative
    assert cls_weights.tolist() == [[1., 0., 1., 1., 1., 1., 1., 1.]]
    assert BucketingBBoxCoder(4, 1.0, cls_ignore_neighbor=False).encode(
        proposal, gt)[3].tolist() == [[1.] * 8]

    # decoding the targets with confident bucket logits gives the GT back, confidence ~1
    cls_preds = (labels * 20 - 10).view(1, -1)
    boxes, confidence = coder.decode(proposal, (cls_preds, offsets))
    close(boxes, gt)
    assert confidence.item() == pytest.approx(1., abs=1e-6)
    clipped, _ = coder.decode(proposal, (cls_preds, offsets), max_shape=(4, 6))
    close(clipped, torch.tensor([[1.5, 3., 5., 3.]]))


def test_legacy_delta_and_pseudo_by_hand():
    coder = LegacyDeltaXYWHBBoxCoder()
    prior = torch.tensor([[0., 0., 9., 9.]])  # 1.x: 10 x 10, centre 4.5
    gt = torch.tensor([[1., 2., 10., 21.]])   # 10 x 20, centre (5.5, 11.5)
    deltas = coder.encode(prior, gt)
    close(deltas, torch.tensor([[0.1, 0.7, 0., math.log(2.)]]))
    # decoding restores the centre and the 1.x size (w + 1 = 10, h + 1 = 20) but spans the
    # full size (corners at centre -/+ 5, 10), as in 2.x: half a pixel beyond the GT's corners
    close(coder.decode(prior, deltas), torch.tensor([[0.5, 1.5, 10.5, 21.5]]))
    # 1.x clips to the last pixel: [0, w - 1] x [0, h - 1]
    assert coder.decode(prior, deltas, max_shape=(10, 8)).tolist() == [[0.5, 1.5, 7., 9.]]
    pseudo = build_bbox_coder(dict(type='PseudoBBoxCoder'))
    assert pseudo.encode(prior, gt) is gt and pseudo.decode(prior, deltas) is deltas


def test_distance_point_against_mmdet2():
    ref = reference('distance_point')
    coder = DistancePointBBoxCoder()
    close(coder.encode(ref['points'], ref['gt']), ref['enc'])
    close(coder.encode(ref['points'], ref['gt'], max_dis=16, eps=0.1), ref['enc_max'])
    close(coder.decode(ref['points'], ref['dist']), ref['dec'])
    close(coder.decode(ref['points'], ref['dist'], max_shape=(40, 50)), ref['dec_clip'])
    close(coder.decode(ref['bpoints'], ref['bdist'], max_shape=[(40, 50), (30, 70)]),
          ref['dec_batch'])
    close(DistancePointBBoxCoder(clip_border=False).decode(ref['points'], ref['dist'], (40, 50)),
          ref['dec_noclip'])


def test_yolo_tblr_legacy_against_mmdet2():
    ref = reference('yolo_coder')
    coder = YOLOBBoxCoder()
    close(coder.encode(ref['anchors'], ref['gt'], ref['stride']), ref['enc'])
    close(coder.decode(ref['anchors'], ref['pred'], ref['stride'][:, None]), ref['dec'])
    close(coder.decode(ref['anchors'], ref['pred'], 32), ref['dec_int'])

    ref = reference('tblr')
    close(TBLRBBoxCoder(4.0).encode(ref['priors'], ref['gt']), ref['enc'])
    close(TBLRBBoxCoder([1., 2., 3., 4.]).encode(ref['priors'], ref['gt']), ref['enc_list'])
    close(TBLRBBoxCoder(4.0).decode(ref['priors'], ref['pred']), ref['dec'])
    close(TBLRBBoxCoder(4.0).decode(ref['priors'], ref['pred'], max_shape=(50, 40)),
          ref['dec_clip'])
    close(TBLRBBoxCoder(1.0).decode(ref['bpriors'], ref['bpred'], max_shape=[(50, 40), (30, 70)]),
          ref['dec_batch'])

    ref = reference('legacy_delta')
    coder = LegacyDeltaXYWHBBoxCoder(target_means=(0.1, 0., -0.1, 0.),
                                     target_stds=(0.1, 0.1, 0.2, 0.2))
    close(coder.encode(ref['rois'], ref['gt']), ref['enc'])
    close(coder.decode(ref['rois'], ref['deltas']), ref['dec'])
    close(coder.decode(ref['rois'], ref['deltas'], max_shape=(40, 50)), ref['dec_clip'])

    ref = reference('delta_ctr_clamp')
    coder = DeltaXYWHBBoxCoder(add_ctr_clamp=True, ctr_clamp=8)
    close(coder.decode(ref['rois'], ref['deltas']), ref['dec'])
    close(coder.decode(ref['rois'], ref['deltas'], max_shape=(40, 50)), ref['dec_clip'])


@pytest.mark.parametrize('num_buckets,ignore_neighbor', [(14, True), (7, False)])
def test_bucketing_against_mmdet2(num_buckets, ignore_neighbor):
    ref = reference(f'bucketing{num_buckets}')
    coder = BucketingBBoxCoder(num_buckets=num_buckets, scale_factor=1.7,
                               cls_ignore_neighbor=ignore_neighbor)
    offsets, offset_weights, labels, cls_weights = coder.encode(ref['proposals'], ref['gt'])
    close(offsets, ref['offsets'])
    assert torch.equal(offset_weights, ref['offset_weights'])
    assert torch.equal(labels, ref['labels'])
    assert torch.equal(cls_weights, ref['cls_weights'])
    boxes, confidence = coder.decode(ref['proposals'], (ref['cls_pred'], ref['off_pred']),
                                     max_shape=(64, 56))
    close(boxes, ref['dec'])
    close(confidence, ref['conf'])
    close(coder.decode(ref['proposals'], (ref['cls_pred'], ref['off_pred']))[0],
          ref['dec_noclip'])

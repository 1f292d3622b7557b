"""Libra R-CNN's samplers: InstanceBalancedPosSampler, IoUBalancedNegSampler and the
CombinedSampler that pairs them (worked counts; the picks themselves are random)."""
import pytest
import torch

from mmdet_lite.core import AssignResult, build_sampler
from mmdet_lite.core.bbox.samplers import (CombinedSampler, InstanceBalancedPosSampler,
                                           IoUBalancedNegSampler)


def _assign(pos_per_gt, neg_ious, pos_iou=0.9):
    """Positives of GT 1, 2, ... (``pos_per_gt`` of each), then negatives with ``neg_ious``."""
    gt_inds = torch.cat([torch.full((n, ), i + 1) for i, n in enumerate(pos_per_gt)] +
                        [torch.zeros(len(neg_ious), dtype=torch.long)])
    max_overlaps = torch.cat([torch.full((sum(pos_per_gt), ), pos_iou),
                              torch.as_tensor(neg_ious, dtype=torch.float)])
    labels = torch.where(gt_inds > 0, gt_inds - 1, torch.full_like(gt_inds, -1))
    return AssignResult(len(pos_per_gt), gt_inds, max_overlaps, labels=labels)


def _per_gt(assign, inds):
    return torch.bincount(assign.gt_inds[inds], minlength=assign.num_gts + 1)[1:].tolist()


def test_instance_balanced_pos_sampler_worked_counts():
    torch.manual_seed(0)
    sampler = InstanceBalancedPosSampler(num=48, pos_fraction=0.25)
    # 12 expected, 3 GTs: round(12 / 3) + 1 = 5 each at most
    assign = _assign([20, 2, 6], [0.] * 10)
    inds = sampler._sample_pos(assign, 12)
    assert _per_gt(assign, inds) == [5, 2, 5] and inds.unique().numel() == 12
    # short of 12: the rest comes from the leftover positives (here GT 1's)
    assign = _assign([20, 1, 1], [0.] * 10)
    inds = sampler._sample_pos(assign, 12)
    assert _per_gt(assign, inds) == [10, 1, 1] and inds.unique().numel() == 12
    # over: 4 GTs x (round(10 / 4) + 1 = 3, Python's round of 2.5 is 2) = 12, trimmed to 10
    assign = _assign([10, 10, 10, 10], [0.] * 10)
    inds = sampler._sample_pos(assign, 10)
    counts = _per_gt(assign, inds)
    assert sum(counts) == 10 and max(counts) <= 3 and inds.unique().numel() == 10
    # few positives: all of them
    assign = _assign([2, 1], [0.] * 10)
    assert sorted(sampler._sample_pos(assign, 12).tolist()) == [0, 1, 2]
    assert sampler._sample_pos(_assign([], [0.] * 5), 12).numel() == 0


def test_iou_balanced_neg_sampler_spreads_over_bins():
    torch.manual_seed(0)
    # 200 negatives with IoU 0, 50 in (0, 0.3), 50 in [0.3, 0.5); positives at 0.9 make the
    # bins [0, 0.3), [0.3, 0.6), [0.6, 0.9), 10 negatives each at most
    ious = [0.] * 200 + torch.linspace(0.01, 0.29, 50).tolist() + torch.linspace(
        0.3, 0.49, 50).tolist()
    assign = _assign([4], ious)
    sampler = IoUBalancedNegSampler(num=40, pos_fraction=0.25, floor_thr=-1, floor_fraction=0,
                                    num_bins=3)
    inds = sampler._sample_neg(assign, 30)
    got = assign.max_overlaps[inds]
    assert inds.unique().numel() == 30 and (assign.gt_inds[inds] == 0).all()
    # zero-IoU negatives are only the floor set, used when the others run out
    assert (got > 0).all()
    assert ((got > 0) & (got < 0.3)).sum() >= 10 and (got >= 0.3).sum() >= 10
    # floor_fraction: half of the quota from IoU < floor_thr
    sampler = IoUBalancedNegSampler(num=40, pos_fraction=0.25, floor_thr=0.1,
                                    floor_fraction=0.5, num_bins=3)
    got = assign.max_overlaps[sampler._sample_neg(assign, 30)]
    assert (got < 0.1).sum() == 15 and (got >= 0.1).sum() == 15
    # one bin: random among the IoU > 0 negatives; few negatives: all of them
    sampler = IoUBalancedNegSampler(num=40, pos_fraction=0.25, num_bins=1)
    got = assign.max_overlaps[sampler._sample_neg(assign, 30)]
    assert len(got) == 30 and (got > 0).all()
    small = _assign([2], [0., 0.2, 0.4])
    assert sorted(sampler._sample_neg(small, 30).tolist()) == [2, 3, 4]
    # no IoU > 0 negatives at all: the floor set fills the quota
    only_floor = _assign([2], [0.] * 50)
    assert sampler._sample_neg(only_floor, 30).unique().numel() == 30


def test_iou_balanced_neg_sampler_argument_checks():
    with pytest.raises(ValueError, match='floor_thr'):
        IoUBalancedNegSampler(10, 0.5, floor_thr=-0.5)
    with pytest.raises(ValueError, match='floor_fraction'):
        IoUBalancedNegSampler(10, 0.5, floor_fraction=2)
    with pytest.raises(ValueError, match='num_bins'):
        IoUBalancedNegSampler(10, 0.5, num_bins=0)


def test_combined_sampler_libra_config():
    torch.manual_seed(0)
    cfg = dict(type='CombinedSampler', num=64, pos_fraction=0.25, add_gt_as_proposals=True,
               pos_sampler=dict(type='InstanceBalancedPosSampler'),
               neg_sampler=dict(type='IoUBalancedNegSampler', floor_thr=-1, floor_fraction=0,
                                num_bins=3))
    sampler = build_sampler(cfg, context=None)
    assert isinstance(sampler, CombinedSampler)
    assert isinstance(sampler.pos_sampler, InstanceBalancedPosSampler)
    assert isinstance(sampler.neg_sampler, IoUBalancedNegSampler)
    assert sampler.neg_sampler.num == 64 and sampler.pos_sampler.pos_fraction == 0.25
    ious = [0.] * 200 + torch.linspace(0.01, 0.49, 100).tolist()
    assign = _assign([30, 3], ious)
    n = len(assign.gt_inds)
    xy = torch.rand(n, 2) * 50
    bboxes = torch.cat([xy, xy + 10], 1)
    gt_bboxes = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.]])
    res = sampler.sample(assign, bboxes, gt_bboxes, torch.tensor([0, 1]))
    # 16 positives out of 33 + 2 GTs, balanced: at most round(16 / 2) + 1 = 9 from GT 2's 4
    assert len(res.pos_inds) == 16 and len(res.neg_inds) == 48
    assert (assign.max_overlaps[res.neg_inds] > 0).all()  # IoU-balanced, floor left out
    assert _per_gt(assign, res.pos_inds)[1] == 4  # all of GT 2's (3 + itself)


def test_combined_sampler_empty_gt_and_no_proposals():
    sampler = build_sampler(dict(type='CombinedSampler', num=16, pos_fraction=0.25,
                                 pos_sampler=dict(type='InstanceBalancedPosSampler'),
                                 neg_sampler=dict(type='IoUBalancedNegSampler')), context=None)
    assign = _assign([], [0.] * 40)
    res = sampler.sample(assign, torch.rand(40, 4) * 10 + torch.tensor([0., 0., 10., 10.]),
                         torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert len(res.pos_inds) == 0 and len(res.neg_inds) == 16
    empty = AssignResult(0, torch.zeros(0, dtype=torch.long), torch.zeros(0),
                         labels=torch.zeros(0, dtype=torch.long))
    res = sampler.sample(empty, torch.zeros(0, 4), torch.zeros(0, 4),
                         torch.zeros(0, dtype=torch.long))
    assert len(res.pos_inds) == 0 and len(res.neg_inds) == 0

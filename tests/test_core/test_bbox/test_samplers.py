import pytest
import torch

from mmdet_lite.core import (AssignResult, PseudoSampler, RandomSampler, SamplingResult,
                             build_sampler)


def _scene(num_pos=10, num_neg=100, num_ignore=5, num_gts=2):
    """Boxes with a known assignment: num_pos positives, then negatives, then ignored."""
    n = num_pos + num_neg + num_ignore
    gt_inds = torch.cat([torch.arange(num_pos) % max(num_gts, 1) + 1,
                         torch.zeros(num_neg, dtype=torch.long),
                         torch.full((num_ignore, ), -1, dtype=torch.long)])
    labels = torch.where(gt_inds > 0, gt_inds + 10, torch.full_like(gt_inds, -1))
    assign = AssignResult(num_gts, gt_inds, torch.rand(n), labels=labels)
    xy = torch.rand(n, 2) * 50
    bboxes = torch.cat([xy, xy + 5], dim=1)
    gt_bboxes = torch.tensor([[0., 0., 10., 10.], [20., 20., 40., 40.]])[:num_gts]
    gt_labels = torch.tensor([11, 12])[:num_gts]
    return assign, bboxes, gt_bboxes, gt_labels


def test_random_sampler_counts():
    torch.manual_seed(0)
    assign, bboxes, gts, gt_labels = _scene()
    sampler = RandomSampler(num=32, pos_fraction=0.25, add_gt_as_proposals=False)
    res = sampler.sample(assign, bboxes, gts, gt_labels)
    assert isinstance(res, SamplingResult)
    assert len(res.pos_inds) == 8 and len(res.neg_inds) == 24
    assert (assign.gt_inds[res.pos_inds] > 0).all() and (assign.gt_inds[res.neg_inds] == 0).all()
    assert res.pos_inds.unique().numel() == 8
    assert torch.equal(res.pos_bboxes, bboxes[res.pos_inds])
    assert torch.equal(res.pos_gt_bboxes, gts[assign.gt_inds[res.pos_inds] - 1])
    assert torch.equal(res.pos_assigned_gt_inds, assign.gt_inds[res.pos_inds] - 1)
    assert torch.equal(res.pos_gt_labels, assign.labels[res.pos_inds])
    assert res.bboxes.shape == (32, 4) and not res.pos_is_gt.any()

    # neg_pos_ub bounds negatives by a multiple of the positives
    assign, bboxes, gts, gt_labels = _scene(num_pos=3)
    res = RandomSampler(32, 0.25, neg_pos_ub=2, add_gt_as_proposals=False).sample(
        assign, bboxes, gts, gt_labels)
    assert len(res.pos_inds) == 3 and len(res.neg_inds) == 6
    # too few positives: negatives fill up to num
    assign, bboxes, gts, gt_labels = _scene(num_pos=3)
    res = RandomSampler(32, 0.25, add_gt_as_proposals=False).sample(assign, bboxes, gts,
                                                                    gt_labels)
    assert len(res.pos_inds) == 3 and len(res.neg_inds) == 29


def test_add_gt_as_proposals():
    torch.manual_seed(0)
    assign, bboxes, gts, gt_labels = _scene(num_pos=2)
    sampler = build_sampler(dict(type='RandomSampler', num=16, pos_fraction=0.5), context=None)
    res = sampler.sample(assign, bboxes, gts, gt_labels)
    # the 2 GTs are prepended (indices 0, 1) and are positives of themselves
    assert len(res.pos_inds) == 4 and res.pos_inds[:2].tolist() == [0, 1]
    assert res.pos_is_gt.tolist() == [1, 1, 0, 0]
    assert torch.equal(res.pos_bboxes[:2], gts)
    assert res.pos_gt_labels[:2].tolist() == [11, 12]
    assert len(res.neg_inds) == 12
    with pytest.raises(ValueError, match='gt_labels'):
        sampler.sample(*_scene()[:3])


def test_empty_gt_and_no_candidates():
    assign, bboxes, _, _ = _scene(num_pos=0, num_neg=20, num_ignore=0, num_gts=0)
    empty_gts = torch.zeros((0, 4))
    res = RandomSampler(8, 0.5).sample(assign, bboxes, empty_gts,
                                       torch.zeros((0, ), dtype=torch.long))
    assert len(res.pos_inds) == 0 and len(res.neg_inds) == 8
    assert res.pos_gt_bboxes.shape == (0, 4)

    assign = AssignResult(2, torch.zeros((0, ), dtype=torch.long), torch.zeros((0, )))
    res = RandomSampler(8, 0.5, add_gt_as_proposals=False).sample(
        assign, torch.zeros((0, 4)), torch.tensor([[0., 0., 5., 5.], [1., 1., 6., 6.]]))
    assert len(res.pos_inds) == 0 and len(res.neg_inds) == 0 and res.bboxes.shape == (0, 4)


def test_pseudo_sampler():
    assign, bboxes, gts, gt_labels = _scene(num_pos=4, num_neg=7, num_ignore=3)
    res = build_sampler(dict(type='PseudoSampler'), context=object()).sample(assign, bboxes, gts)
    assert res.pos_inds.tolist() == [0, 1, 2, 3]
    assert res.neg_inds.tolist() == list(range(4, 11))  # ignored boxes are left out
    assert not res.pos_is_gt.any() and torch.equal(res.neg_bboxes, bboxes[4:11])
    empty = AssignResult(0, torch.zeros((5, ), dtype=torch.long), torch.zeros(5))
    res = PseudoSampler().sample(empty, bboxes[:5], torch.zeros((0, 4)))
    assert len(res.pos_inds) == 0 and len(res.neg_inds) == 5

import pytest
import torch

from mmdet_lite.core import AssignResult, MaxIoUAssigner, bbox_overlaps, build_assigner

# Hand-made scene. IoUs with gt0 = [0, 0, 10, 10] and gt1 = [20, 20, 30, 30]:
#   p0 = gt0                 -> 1
#   p1 = [0, 0, 10, 20]      -> 100 / 200 = 0.5 with gt0
#   p2 = [5, 0, 15, 10]      -> 50 / 150 = 1/3 with gt0
#   p3 = [40, 40, 50, 50]    -> 0
#   p4 = [20, 20, 25, 40]    -> 50 / 150 = 1/3 with gt1 (gt1's best prior)
PRIORS = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 20.], [5., 0., 15., 10.],
                       [40., 40., 50., 50.], [20., 20., 25., 40.]])
GTS = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.]])
LABELS = torch.tensor([3, 7])


def test_hand_made_assignment():
    assigner = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.3, min_pos_iou=0.3)
    res = assigner.assign(PRIORS, GTS, gt_labels=LABELS)
    assert isinstance(res, AssignResult) and res.num_gts == 2 and res.num_preds == 5
    # p2 in [0.3, 0.5) is ignored; p4 is gt1's best prior (low-quality match)
    assert res.gt_inds.tolist() == [1, 1, -1, 0, 2]
    assert res.labels.tolist() == [3, 3, -1, -1, 7]
    assert torch.allclose(res.max_overlaps, torch.tensor([1., .5, 1 / 3, 0., 1 / 3]))

    no_low = MaxIoUAssigner(0.5, 0.3, min_pos_iou=0.3, match_low_quality=False)
    assert no_low.assign(PRIORS, GTS).gt_inds.tolist() == [1, 1, -1, 0, -1]
    # the low-quality match needs IoU >= min_pos_iou
    strict = MaxIoUAssigner(0.5, 0.3, min_pos_iou=0.4)
    assert strict.assign(PRIORS, GTS).gt_inds.tolist() == [1, 1, -1, 0, -1]
    # neg_iou_thr as a range: only IoU in [0.1, 0.4) is negative (p2, p4), p3 (IoU 0) ignored
    ranged = MaxIoUAssigner(0.5, (0.1, 0.4), min_pos_iou=0.4)
    assert ranged.assign(PRIORS, GTS).gt_inds.tolist() == [1, 1, 0, -1, 0]
    assert res.labels is not None and no_low.assign(PRIORS, GTS).labels is None


def test_ignore_regions():
    ignore = torch.tensor([[38., 38., 52., 52.]])  # contains p3; area 196
    # IoF w.r.t. the prior: p3 is fully covered (1.0 > 0.6) -> ignored
    wrt_prior = MaxIoUAssigner(0.5, 0.3, min_pos_iou=0.3, ignore_iof_thr=0.6)
    assert wrt_prior.assign(PRIORS, GTS, ignore).gt_inds.tolist() == [1, 1, -1, -1, 2]
    # IoF w.r.t. the ignore region: 100 / 196 = 0.51 < 0.6 -> stays negative
    wrt_region = MaxIoUAssigner(0.5, 0.3, min_pos_iou=0.3, ignore_iof_thr=0.6,
                                ignore_wrt_candidates=False)
    assert wrt_region.assign(PRIORS, GTS, ignore).gt_inds.tolist() == [1, 1, -1, 0, 2]
    # empty ignore tensor is a no-op
    assert wrt_prior.assign(PRIORS, GTS, torch.zeros((0, 4))).gt_inds.tolist() == [
        1, 1, -1, 0, 2]


def test_gt_max_assign_all_ties():
    priors = torch.tensor([[0., 0., 10., 20.], [0., 0., 20., 10.], [50., 50., 60., 60.]])
    gt = torch.tensor([[0., 0., 10., 10.]])  # IoU 0.5 with both p0 and p1
    all_ties = MaxIoUAssigner(0.7, 0.3, min_pos_iou=0.3, gt_max_assign_all=True)
    assert all_ties.assign(priors, gt).gt_inds.tolist() == [1, 1, 0]
    one = MaxIoUAssigner(0.7, 0.3, min_pos_iou=0.3, gt_max_assign_all=False)
    inds = one.assign(priors, gt).gt_inds.tolist()
    # the tied prior that is not taken stays ignored (IoU 0.5 in [0.3, 0.7))
    assert sorted(inds[:2]) == [-1, 1] and inds[2] == 0


def _reference_assign(overlaps, pos_thr, neg_thr, min_pos, assign_all):
    """Literal per-GT loop of the max-IoU rule, as an independent reference."""
    num_gts, num_priors = overlaps.shape
    inds = [-1] * num_priors
    for j in range(num_priors):
        col = overlaps[:, j].tolist()
        best = max(col)
        arg = col.index(best)
        if 0 <= best < neg_thr:
            inds[j] = 0
        if best >= pos_thr:
            inds[j] = arg + 1
    for i in range(num_gts):
        row = overlaps[i].tolist()
        best = max(row)
        if best >= min_pos:
            if assign_all:
                for j, v in enumerate(row):
                    if v == best:
                        inds[j] = i + 1
            else:
                inds[row.index(best)] = i + 1
    return inds


def test_random_against_reference():
    g = torch.Generator().manual_seed(0)
    xy = torch.randint(0, 40, (60, 2), generator=g).float()
    priors = torch.cat([xy, xy + torch.randint(4, 20, (60, 2), generator=g).float()], dim=1)
    gxy = torch.randint(0, 40, (6, 2), generator=g).float()
    gts = torch.cat([gxy, gxy + torch.randint(4, 20, (6, 2), generator=g).float()], dim=1)
    gts = torch.cat([gts, gts[:1]])  # a duplicate GT: the later one wins its best prior
    overlaps = bbox_overlaps(gts, priors)
    for assign_all in (True, False):
        assigner = MaxIoUAssigner(0.5, 0.4, min_pos_iou=0.1, gt_max_assign_all=assign_all)
        got = assigner.assign(priors, gts).gt_inds.tolist()
        assert got == _reference_assign(overlaps, 0.5, 0.4, 0.1, assign_all)


def test_empty_gt_and_empty_priors():
    assigner = build_assigner(dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4))
    empty_gt = assigner.assign(PRIORS, torch.zeros((0, 4)),
                               gt_labels=torch.zeros((0, ), dtype=torch.long))
    assert empty_gt.num_gts == 0
    assert empty_gt.gt_inds.tolist() == [0] * 5  # every prior is background
    assert empty_gt.labels.tolist() == [-1] * 5
    assert empty_gt.max_overlaps.tolist() == [0.] * 5

    no_priors = assigner.assign(torch.zeros((0, 4)), GTS, gt_labels=LABELS)
    assert no_priors.num_preds == 0 and no_priors.gt_inds.shape == (0, )
    assert no_priors.labels.shape == (0, )
    both = assigner.assign(torch.zeros((0, 4)), torch.zeros((0, 4)),
                           gt_bboxes_ignore=torch.zeros((0, 4)))
    assert both.gt_inds.shape == (0, ) and both.labels is None


def test_cpu_fallback_and_add_gt():
    # more GTs than gpu_assign_thr -> assigned on the CPU, same result on the input device
    fallback = MaxIoUAssigner(0.5, 0.3, min_pos_iou=0.3, gpu_assign_thr=1)
    res = fallback.assign(PRIORS, GTS, gt_labels=LABELS)
    assert res.gt_inds.tolist() == [1, 1, -1, 0, 2] and res.gt_inds.device == PRIORS.device
    res.add_gt_(LABELS)
    assert res.gt_inds.tolist() == [1, 2, 1, 1, -1, 0, 2]
    assert res.labels.tolist() == [3, 7, 3, 3, -1, -1, 7]
    assert res.max_overlaps[:2].tolist() == [1., 1.]
    with pytest.raises(TypeError, match='neg_iou_thr'):
        MaxIoUAssigner(0.5, 'low')

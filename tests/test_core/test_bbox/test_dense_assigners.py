"""Assigners of the one-stage families and Cascade RPN / guided anchoring: worked cases, empty
ground truth and priors, ignore boxes, and mmdetection 2.28's outputs on random scenes."""
import pytest
import torch

from mmdet_lite.core import (ApproxMaxIoUAssigner, ATSSAssigner, CenterRegionAssigner,
                             GridAssigner, PointAssigner, RegionAssigner, SimOTAAssigner,
                             TaskAlignedAssigner, UniformAssigner, build_assigner)
from ..mmdet2_reference import assert_assign_equal, reference

INF = 100000000
NO_GT = torch.zeros((0, 4))
NO_LABELS = torch.zeros((0, ), dtype=torch.long)


def check_empty(result, num_preds, ignore_value=0):
    assert result.gt_inds.tolist() == [ignore_value] * num_preds
    if result.labels is not None:
        assert result.labels.tolist() == [-1] * num_preds


# ------------------------------------------------------------------ ATSS
ATSS_PRIORS = torch.tensor([[0., 0., 10., 10.], [10., 0., 20., 10.], [0., 10., 10., 20.],
                            [10., 10., 20., 20.], [0., 0., 20., 20.]])  # level 0: 4, level 1: 1


def test_atss_by_hand():
    gt = torch.tensor([[0., 0., 12., 11.]])  # centre (6, 5.5)
    result = build_assigner(dict(type='ATSSAssigner', topk=2)).assign(
        ATSS_PRIORS, [4, 1], gt, gt_labels=torch.tensor([3]))
    # candidates: level 0 the 2 nearest centres (5, 5) and (15, 5), IoU 100/132 and 20/212;
    # level 1 its only prior, IoU 132/400. Threshold = mean + unbiased std = 0.3940 + 0.3362:
    # only prior 0 (IoU 0.7576) reaches it
    assert result.gt_inds.tolist() == [1, 0, 0, 0, 0]
    assert result.labels.tolist() == [3, -1, -1, -1, -1]
    assert result.max_overlaps[0].item() == pytest.approx(100 / 132)
    assert (result.max_overlaps[1:] == -INF).all()

    # an ignore box covering prior 3 beyond ignore_iof_thr
    ignored = ATSSAssigner(topk=2, ignore_iof_thr=0.5).assign(
        ATSS_PRIORS, [4, 1], gt, gt_bboxes_ignore=torch.tensor([[9., 9., 21., 21.]]))
    assert ignored.gt_inds.tolist() == [1, 0, 0, -1, 0] and ignored.labels is None


def test_atss_empty_and_errors():
    assigner = ATSSAssigner(topk=2)
    result = assigner.assign(ATSS_PRIORS, [4, 1], NO_GT, gt_labels=NO_LABELS)
    check_empty(result, 5)
    assert result.max_overlaps.tolist() == [0.] * 5
    none = assigner.assign(torch.zeros((0, 4)), [0, 0], torch.tensor([[0., 0., 5., 5.]]))
    assert none.gt_inds.shape == (0, ) and none.num_gts == 1
    with pytest.raises(ValueError, match='sum to 4'):
        assigner.assign(ATSS_PRIORS, [4], torch.tensor([[0., 0., 5., 5.]]))
    with pytest.raises(ValueError, match='cls_scores'):
        ATSSAssigner(topk=2, alpha=0.8).assign(ATSS_PRIORS, [4, 1], NO_GT)
    with pytest.warns(UserWarning, match='only used with alpha'):
        assigner.assign(ATSS_PRIORS, [4, 1], NO_GT, cls_scores=torch.zeros(5, 2))


def test_atss_against_mmdet2():
    inp = reference('atss')
    args = (inp['anchors'], inp['num_level'].tolist(), inp['gts'])
    assert_assign_equal(ATSSAssigner(topk=3).assign(*args, gt_labels=inp['labels']),
                        reference('atss/plain'))
    assert_assign_equal(ATSSAssigner(topk=3, ignore_iof_thr=0.5).assign(
        *args, gt_bboxes_ignore=inp['ignore'], gt_labels=inp['labels']), reference('atss/ignore'))
    ddod = reference('atss/ddod')
    assert_assign_equal(ATSSAssigner(topk=3, alpha=0.8).assign(
        *args, gt_labels=inp['labels'], cls_scores=ddod['cls_scores'],
        bbox_preds=ddod['bbox_preds']), ddod)


# ------------------------------------------------------------------ CenterRegion (FSAF)
def test_center_region_by_hand():
    assigner = CenterRegionAssigner(pos_scale=0.2, neg_scale=0.5)
    gt = torch.tensor([[0., 0., 10., 10.]])  # core [4, 6]^2, shadow [2.5, 7.5]^2
    priors = torch.tensor([[3., 3., 5., 5.],      # centre in the GT, overlaps the core
                           [2., 2., 4., 4.],      # overlaps the shadow only
                           [0., 0., 2., 2.],      # centre in the GT, outside both regions
                           [10., 10., 20., 20.]])
    result = assigner.assign(priors, gt, gt_labels=torch.tensor([5]))
    assert result.gt_inds.tolist() == [1, 0, 0, 0] and result.max_overlaps is None
    assert result.labels.tolist() == [5, -1, -1, -1]
    assert result.get_extra_property('shadowed_labels').tolist() == [[1, 5]]

    # a prior in two cores goes to the smaller GT; the larger one shadows it
    gts = torch.tensor([[0., 0., 20., 20.], [6., 6., 14., 14.]])
    prior = torch.tensor([[9., 9., 11., 11.]])
    result = assigner.assign(prior, gts, gt_labels=torch.tensor([0, 1]))
    assert result.gt_inds.tolist() == [2] and result.labels.tolist() == [1]
    assert result.get_extra_property('shadowed_labels').tolist() == [[0, 0]]
    # same class: the shadow wins (background) unless foreground_dominate
    same = assigner.assign(prior, gts, gt_labels=torch.tensor([1, 1]))
    assert same.gt_inds.tolist() == [0] and same.labels.tolist() == [-1]
    dominate = CenterRegionAssigner(0.2, 0.5, foreground_dominate=True).assign(
        prior, gts, gt_labels=torch.tensor([1, 1]))
    assert dominate.gt_inds.tolist() == [2]
    assert dominate.get_extra_property('shadowed_labels').shape == (0, 2)

    # ignore boxes (scaled by ignore_gt_scale = 0.5) holding the prior's centre
    ignored = assigner.assign(prior, gts, gt_bboxes_ignore=torch.tensor([[0., 0., 30., 30.]]))
    assert ignored.gt_inds.tolist() == [-1]
    assert ignored.get_extra_property('shadowed_labels') is None


def test_center_region_empty():
    assigner = CenterRegionAssigner(0.2, 0.5)
    result = assigner.assign(torch.tensor([[0., 0., 4., 4.]]), NO_GT, gt_labels=NO_LABELS)
    check_empty(result, 1)
    assert result.get_extra_property('shadowed_labels').shape == (0, 2)
    none = assigner.assign(torch.zeros((0, 4)), torch.tensor([[0., 0., 5., 5.]]))
    assert none.gt_inds.shape == (0, )


def test_center_region_against_mmdet2():
    inp = reference('center_region')
    for dominate in (False, True):
        for neg_scale in (0.2, 0.5):
            expected = reference(f'center_region/dom{int(dominate)}_neg{neg_scale}')
            result = CenterRegionAssigner(0.2, neg_scale, min_pos_iof=0.01,
                                          foreground_dominate=dominate).assign(
                inp['anchors'], inp['gts'], gt_bboxes_ignore=inp['ignore'],
                gt_labels=inp['labels'])
            assert_assign_equal(result, expected)
            assert torch.equal(result.get_extra_property('shadowed_labels'),
                               expected['shadowed'])


# ------------------------------------------------------------------ Grid (YOLOv3)
def test_grid_by_hand():
    anchors = torch.tensor([[0., 0., 10., 10.], [0., 0., 20., 20.], [20., 0., 30., 10.]])
    flags = torch.tensor([1, 0, 1], dtype=torch.uint8)
    gt = torch.tensor([[1., 1., 20., 20.]])
    result = GridAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5).assign(
        anchors, flags, gt, torch.tensor([2]))
    # anchor 1 overlaps most (IoU 361/400) but is not responsible: neither negative nor
    # positive; the GT takes its best responsible anchor 0 (IoU 81/380)
    assert result.gt_inds.tolist() == [1, -1, 0]
    assert result.labels.tolist() == [2, -1, -1]
    torch.testing.assert_close(result.max_overlaps, torch.tensor([81 / 380, -1., 0.]))

    empty = GridAssigner(0.5, 0.5).assign(anchors, flags.bool(), NO_GT, NO_LABELS)
    check_empty(empty, 3)
    assert GridAssigner(0.5, 0.5).assign(torch.zeros((0, 4)), torch.zeros(0, dtype=torch.bool),
                                         gt).gt_inds.shape == (0, )
    with pytest.raises(ValueError, match='low, high'):
        GridAssigner(0.5, (0.1, 0.2, 0.3))


def test_grid_against_mmdet2():
    inp = reference('grid')
    args = (inp['anchors'], inp['flags'], inp['gts'], inp['labels'])
    assert_assign_equal(GridAssigner(0.5, 0.5, min_pos_iou=0).assign(*args),
                        reference('grid/plain'))
    assert_assign_equal(GridAssigner(0.3, (0.1, 0.4), gt_max_assign_all=False).assign(*args),
                        reference('grid/range'))


# ------------------------------------------------------------------ SimOTA (YOLOX)
def test_simota_by_hand():
    priors = torch.tensor([[4., 4., 8., 8.], [12., 4., 8., 8.], [100., 100., 8., 8.]])
    gt = torch.tensor([[0., 0., 16., 8.]])
    decoded = torch.tensor([[0., 0., 16., 8.], [8., 0., 16., 8.], [96., 96., 104., 104.]])
    scores = torch.full((3, 2), 0.5)
    result = SimOTAAssigner(center_radius=2.5).assign(scores, priors, decoded, gt,
                                                      torch.tensor([0]))
    # prior 2 is far from the GT (not a candidate); the IoUs 1 and 0.5 sum to k = 1, and the
    # exact box is the cheaper
    assert result.gt_inds.tolist() == [1, 0, 0] and result.labels.tolist() == [0, -1, -1]
    assert result.max_overlaps.tolist() == [1., -100000., -100000.]

    empty = SimOTAAssigner().assign(scores, priors, decoded, NO_GT, NO_LABELS)
    check_empty(empty, 3)
    # no prior near any GT: all background
    far = SimOTAAssigner().assign(scores[2:], priors[2:], decoded[2:], gt, torch.tensor([0]))
    check_empty(far, 1)


def test_simota_against_mmdet2():
    inp = reference('simota')
    result = SimOTAAssigner(center_radius=2.5).assign(inp['scores'], inp['points'],
                                                      inp['decoded'], inp['gts'], inp['labels'])
    assert_assign_equal(result, reference('simota/out'))


# ------------------------------------------------------------------ TaskAligned (TOOD)
def test_task_aligned_by_hand():
    anchors = torch.tensor([[0., 0., 10., 10.], [10., 0., 20., 10.]])
    decoded = torch.tensor([[0., 0., 10., 10.], [2., 0., 12., 10.]])
    scores = torch.tensor([[0.1, 0.5], [0.1, 0.9]])
    gt = torch.tensor([[0., 0., 10., 10.]])
    # metrics 0.5 * 1 ** 6 and 0.9 * (80 / 120) ** 6; anchor 1's centre is outside the GT
    for topk in (1, 2):
        result = TaskAlignedAssigner(topk=topk).assign(scores, decoded, anchors, gt,
                                                       gt_labels=torch.tensor([1]))
        assert result.gt_inds.tolist() == [1, 0] and result.labels.tolist() == [1, -1]
        assert result.assign_metrics.tolist() == [0.5, 0.]
        assert result.max_overlaps.tolist() == [1., -INF]
    empty = TaskAlignedAssigner(topk=3).assign(scores, decoded, anchors, NO_GT,
                                               gt_labels=NO_LABELS)
    check_empty(empty, 2)
    assert empty.assign_metrics.tolist() == [0., 0.]
    with pytest.raises(ValueError, match='topk'):
        TaskAlignedAssigner(topk=0)


def test_task_aligned_against_mmdet2():
    inp = reference('task_aligned')
    result = TaskAlignedAssigner(topk=5).assign(inp['scores'], inp['decoded'], inp['anchors'],
                                                inp['gts'], None, inp['labels'])
    expected = reference('task_aligned/out')
    assert_assign_equal(result, expected)
    torch.testing.assert_close(result.assign_metrics, expected['metrics'])


# ------------------------------------------------------------------ ApproxMaxIoU (GA, SABL)
def test_approx_max_iou_by_hand():
    squares = torch.tensor([[0., 0., 10., 10.], [10., 0., 20., 10.]])
    approxs = torch.tensor([[0., 0., 10., 10.], [-5., 0., 15., 10.],    # of square 0
                            [10., 0., 20., 10.], [5., 0., 25., 10.]])   # of square 1
    gt = torch.tensor([[0., 0., 15., 10.]])
    assigner = ApproxMaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4)
    # best approximant IoUs: square 0 max(2/3, 3/4) -> positive; square 1 max(1/4, 2/5) = 0.4,
    # not below neg_iou_thr -> ignored
    result = assigner.assign(approxs, squares, 2, gt, gt_labels=torch.tensor([4]))
    assert result.gt_inds.tolist() == [1, -1] and result.labels.tolist() == [4, -1]
    torch.testing.assert_close(result.max_overlaps, torch.tensor([0.75, 0.4]))
    check_empty(assigner.assign(approxs, squares, 2, NO_GT, gt_labels=NO_LABELS), 2)
    with pytest.raises(ValueError, match='approxs_per_octave'):
        assigner.assign(approxs, squares, 3, gt)


def test_approx_max_iou_against_mmdet2():
    inp = reference('approx')
    assigner = ApproxMaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.0,
                                    ignore_iof_thr=0.5)
    assert_assign_equal(assigner.assign(inp['approxs'], inp['squares'], 9, inp['gts'],
                                        inp['ignore'], inp['labels']), reference('approx/out'))


# ------------------------------------------------------------------ Point (RepPoints)
def test_point_by_hand():
    points = torch.tensor([[4., 4., 8.], [12., 4., 8.], [8., 8., 16.]])
    # 32 x 32 with scale 4 -> level log2(8) = 3 (stride 8); 64 x 64 -> level 4 (stride 16)
    gts = torch.tensor([[0., 0., 32., 32.], [0., 0., 64., 64.]])
    result = PointAssigner(scale=4, pos_num=1).assign(points, gts, gt_labels=torch.tensor([7, 8]))
    # nearest stride-8 point to (16, 16) is (12, 4); the stride-16 point goes to the big GT
    assert result.gt_inds.tolist() == [0, 1, 2] and result.labels.tolist() == [-1, 7, 8]
    assert result.max_overlaps is None
    # a point nearer to a later GT's centre (in GT-size units) goes to that GT
    two = PointAssigner(scale=4, pos_num=2).assign(points[:2], torch.tensor(
        [[0., 0., 32., 32.], [6., 0., 18., 8.]]))
    assert two.gt_inds.tolist() == [1, 2]
    check_empty(PointAssigner().assign(points, NO_GT, gt_labels=NO_LABELS), 3)
    assert PointAssigner().assign(torch.zeros((0, 3)), gts).gt_inds.shape == (0, )


def test_point_against_mmdet2():
    inp = reference('point')
    assert_assign_equal(PointAssigner(scale=4, pos_num=3).assign(inp['points'], inp['gts'], None,
                                                                 inp['labels']),
                        reference('point/out'))


# ------------------------------------------------------------------ Uniform (YOLOF)
def test_uniform_by_hand():
    anchors = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.]])
    preds = torch.tensor([[50., 50., 60., 60.], [1., 1., 11., 11.]])
    gt = torch.tensor([[0., 0., 10., 10.]])
    result = UniformAssigner(pos_ignore_thr=0.15, neg_ignore_thr=0.7, match_times=1).assign(
        preds, anchors, gt, gt_labels=torch.tensor([2]))
    # the nearest prediction is 1 (its anchor misses the GT: ignored), the nearest anchor is 0
    assert result.gt_inds.tolist() == [1, -1] and result.labels.tolist() == [2, -1]
    assert result.get_extra_property('pos_idx').tolist() == [False, True]
    assert torch.equal(result.get_extra_property('pos_predicted_boxes'), preds[[1, 0]])
    assert torch.equal(result.get_extra_property('target_boxes'), gt[[0, 0]])
    # as in 2.x, max_overlaps holds each GT's best anchor IoU
    assert result.max_overlaps.tolist() == [1.]

    empty = UniformAssigner(0.15, 0.7).assign(preds, anchors, NO_GT)
    check_empty(empty, 2)
    assert empty.get_extra_property('pos_predicted_boxes').shape == (0, 4)
    with pytest.raises(ValueError, match='match_times=4'):
        UniformAssigner(0.15, 0.7).assign(preds, anchors, gt)


def test_uniform_against_mmdet2():
    inp = reference('uniform')
    result = UniformAssigner(pos_ignore_thr=0.4, neg_ignore_thr=0.5, match_times=4).assign(
        inp['preds'], inp['anchors'], inp['gts'], None, inp['labels'])
    expected = reference('uniform/out')
    assert_assign_equal(result, expected)
    for key in ('pos_idx', 'pos_predicted_boxes', 'target_boxes'):
        assert torch.equal(result.get_extra_property(key), expected[key])


# ------------------------------------------------------------------ Region (Cascade RPN)
def test_region_by_hand():
    anchors = torch.stack(torch.meshgrid(torch.arange(4.), torch.arange(4.), indexing='ij'),
                          -1).flip(-1).reshape(-1, 2) * 8
    anchors = torch.cat([anchors - 8, anchors + 8], dim=1)  # 16 x 16 centred at cell corners
    flags = torch.ones(16, dtype=torch.bool)
    gt = torch.tensor([[8., 8., 24., 24.]])  # size 16 = anchor_scale 2 * stride 8: level 0
    result = RegionAssigner(center_ratio=0.2, ignore_ratio=0.5).assign(
        [anchors], [flags], gt, dict(img_shape=(32, 32, 3)), [(4, 4)], 2, [8], allowed_border=-1)
    # centre and ignore regions are both cell (2, 2): anchor 10; 2.x's integer-indexed
    # adjacent-level flags leave anchor 0 ignored (see RegionAssigner's note)
    expected = [0] * 16
    expected[10], expected[0] = 1, -1
    assert result.gt_inds.tolist() == expected and result.max_overlaps is None
    inside = RegionAssigner().assign([anchors], [flags], gt, dict(img_shape=(32, 32, 3)),
                                     [(4, 4)], 2, [8], gt_labels=torch.tensor([0]),
                                     allowed_border=0)
    # only anchors 5, 6, 9, 10 lie inside the 32 x 32 image
    assert [i for i, v in enumerate(inside.gt_inds.tolist()) if v >= 0] == [5, 6, 9, 10]
    assert inside.gt_inds[10] == 1 and inside.labels[10] == 0

    empty = RegionAssigner().assign([anchors], [flags], NO_GT, dict(img_shape=(32, 32, 3)),
                                    [(4, 4)], 2, [8], gt_labels=NO_LABELS)
    check_empty(empty, 16)
    with pytest.raises(NotImplementedError, match='gt_bboxes_ignore'):
        RegionAssigner().assign([anchors], [flags], gt, {}, [(4, 4)], 2, [8],
                                gt_bboxes_ignore=NO_GT)


@pytest.mark.parametrize('border', [-1, 0])
def test_region_against_mmdet2(border):
    inp = reference('region')
    sizes = [(16, 16), (8, 8), (4, 4)]
    mlvl = list(inp['anchors'].split([256, 64, 16]))
    flags = list(inp['flags'].split([256, 64, 16]))
    result = RegionAssigner(0.2, 0.5).assign(mlvl, flags, inp['gts'], dict(img_shape=(56, 60, 3)),
                                             sizes, 8, [4, 8, 16], allowed_border=border)
    assert_assign_equal(result, reference(f'region/border{border}'))

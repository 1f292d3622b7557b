"""Units of the one-stage heads: FCOS's and ATSS's target assignment on worked cases, the loss of
every family on an image without ground truth, PAA's Gaussian split against scikit-learn."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmdet_lite.models import build_head
from mmdet_lite.models.dense_heads.paa_gmm import fit_two_gaussians

from ..test_detectors.one_stage_learning import tiny_detector
from ..test_detectors.test_one_stage_learning import FAMILIES

DATA = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data')


def _fcos_head(**kwargs):
    return build_head(dict(dict(type='FCOSHead', num_classes=2, in_channels=4, feat_channels=4,
                                stacked_convs=1, strides=[8, 16], norm_cfg=None,
                                regress_ranges=((-1, 64), (64, 1e8))), **kwargs))


def _points(head, sizes):
    return head.prior_generator.grid_priors(sizes, dtype=torch.float32)


def test_fcos_targets_worked_case():
    """One 64x64 box at the origin; level 0 is 8x8 cells of stride 8 (points at 4, 12, ..., 60),
    level 1 is 4x4 of stride 16. Every level-0 point is inside the box with its largest
    distance <= 64, so all 64 are positive there; level 1's largest distance 56 is below its
    range (64, inf)."""
    head = _fcos_head()
    points = _points(head, [(8, 8), (4, 4)])
    gt = torch.tensor([[0., 0., 64., 64.]])
    labels, targets = head.get_targets(points, [gt], [torch.tensor([1])])
    assert (labels[0] == 1).all() and (labels[1] == 2).all()
    # point (4, 4): left/top 4, right/bottom 60
    torch.testing.assert_close(targets[0][0], torch.tensor([4., 4., 60., 60.]))
    # point (60, 12) is row 1, column 7
    torch.testing.assert_close(targets[0][8 + 7], torch.tensor([60., 12., 4., 52.]))


def test_fcos_center_sampling_and_norm_on_bbox():
    """With center sampling (radius 1.5 strides = 12 px around the centre (32, 32)) only the
    points at 28 and 36 in each direction stay positive; norm_on_bbox divides the targets by
    the stride."""
    head = _fcos_head(center_sampling=True, center_sample_radius=1.5, norm_on_bbox=True)
    points = _points(head, [(8, 8), (4, 4)])
    labels, targets = head.get_targets(points, [torch.tensor([[0., 0., 64., 64.]])],
                                       [torch.tensor([0])])
    pos = (labels[0] == 0).nonzero().flatten().tolist()
    assert pos == [3 * 8 + 3, 3 * 8 + 4, 4 * 8 + 3, 4 * 8 + 4]
    torch.testing.assert_close(targets[0][3 * 8 + 3], torch.tensor([28., 28., 36., 36.]) / 8)


def test_fcos_smallest_box_wins():
    """A point inside two boxes of its range regresses the smaller one."""
    head = _fcos_head()
    points = _points(head, [(8, 8), (4, 4)])
    gts = torch.tensor([[0., 0., 64., 64.], [0., 0., 24., 24.]])
    labels, targets = head.get_targets(points, [gts], [torch.tensor([0, 1])])
    assert labels[0][0] == 1 and labels[0][2] == 1 and labels[0][3] == 0
    torch.testing.assert_close(targets[0][0], torch.tensor([4., 4., 20., 20.]))


def test_fcos_no_ground_truth_is_all_background():
    head = _fcos_head()
    points = _points(head, [(8, 8), (4, 4)])
    labels, targets = head.get_targets(points, [torch.zeros(0, 4)],
                                       [torch.zeros(0, dtype=torch.long)])
    assert (torch.cat(labels) == 2).all() and (torch.cat(targets) == 0).all()


def test_atss_targets_worked_case():
    """One anchor per location (8 px squares centred on the stride-8 grid of a 4x4 map, one
    level): the box equals the anchor of cell (2, 2), (12, 12)-(20, 20). ATSS's topk=3 closest
    anchors have IoUs 1, 0, 0: threshold mean + std = 0.91, so exactly that anchor is positive,
    with the box itself as target (reg_decoded_bbox)."""
    head = build_head(dict(
        type='ATSSHead', num_classes=2, in_channels=4, feat_channels=4, stacked_convs=1,
        norm_cfg=None,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=1,
                              scales_per_octave=1, strides=[8]),
        train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=3), allowed_border=-1,
                       pos_weight=-1)))
    meta = dict(img_shape=(32, 32, 3), pad_shape=(32, 32, 3))
    anchors, flags = head.get_anchors([(4, 4)], [meta])
    gt = torch.tensor([[12., 12., 20., 20.]])
    targets = head.get_targets(anchors, flags, [gt], [meta], gt_labels_list=[torch.tensor([1])])
    labels = targets.labels_list[0][0]
    pos = (labels == 1).nonzero().flatten().tolist()
    assert pos == [2 * 4 + 2] and (labels[labels != 1] == 2).all()
    torch.testing.assert_close(targets.bbox_targets_list[0][0, 10], gt[0])
    assert targets.num_total_pos == 1


@pytest.mark.parametrize('family', list(FAMILIES))
def test_loss_without_ground_truth(family):
    """An image without boxes: the classification loss pushes every prior to background and the
    box losses are zero but stay in the graph; with a box they are positive."""
    detector, head, train_cfg, _, _, *kwargs = FAMILIES[family]
    torch.manual_seed(0)
    model = tiny_detector(detector, head, train_cfg, **(kwargs[0] if kwargs else {}))
    model.init_weights()
    model.train()
    img = torch.randn(1, 3, 64, 64)
    meta = [dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3), ori_shape=(64, 64, 3),
                 scale_factor=np.ones(4, dtype=np.float32), filename='empty.png')]
    empty = model.forward_train(img, meta, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)])
    one = model.forward_train(img, meta, [torch.tensor([[8., 10., 50., 44.]])],
                              [torch.tensor([1])])

    def total(v):
        return sum(v) if isinstance(v, (list, tuple)) else v

    # keys without 'loss' (FSAF's num_pos, pos_recall) are only logged
    empty = {k: v for k, v in empty.items() if 'loss' in k}
    one = {k: v for k, v in one.items() if 'loss' in k}
    for name, value in empty.items():
        value = total(value)
        assert torch.isfinite(value), (name, value)
        if 'cls' in name or 'neg' in name:
            assert value > 0, (name, value)
        else:
            assert value == 0, (name, value)
            assert value.requires_grad, f'{name} left the graph'
    for name, value in one.items():
        assert torch.isfinite(total(value)) and total(value) > 0, (name, total(value))


def test_paa_gaussian_split_equals_sklearn():
    """PAA's two-Gaussian fit against scikit-learn's GaussianMixture on the same loss vectors
    (tests/data/paa_gmm/sklearn.npz, written by its generate.py)."""
    data = np.load(osp.join(DATA, 'paa_gmm', 'sklearn.npz'))
    cases = sorted(int(k.split('_')[1]) for k in data.files if k.startswith('values_'))
    for case in cases:
        values = torch.from_numpy(data[f'values_{case}'])
        assignment, scores = fit_two_gaussians(values, str(data[f'type_{case}']))
        np.testing.assert_array_equal(assignment.numpy(), data[f'assignment_{case}'])
        np.testing.assert_allclose(scores.numpy(), data[f'scores_{case}'], atol=1e-4)


def test_paa_gaussian_split_separates_two_groups():
    """Low losses and high losses: the low ones form component 0."""
    values = torch.tensor([0.1, 0.12, 0.15, 0.2, 2.0, 2.2, 2.5])
    assignment, _ = fit_two_gaussians(values)
    assert assignment.tolist() == [0, 0, 0, 0, 1, 1, 1]

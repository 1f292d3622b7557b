"""Grid R-CNN's GridHead (heatmap targets and box decoding against worked values, the point
sub-regions) and GridRoIHead (loss_grid, jitter, results)."""
import numpy as np
import pytest
import torch

from mmdet_lite.core import SamplingResult, bbox2roi
from mmdet_lite.core.bbox.assigners.assign_result import AssignResult
from mmdet_lite.models.builder import build_head


def _grid_head():
    torch.manual_seed(0)
    head = build_head(dict(type='GridHead', grid_points=9, num_convs=1, in_channels=8,
                           point_feat_channels=4, norm_cfg=dict(type='GN', num_groups=36)))
    head.init_weights()
    return head


def _positives(boxes, gt_boxes):
    num = len(boxes)
    assign = AssignResult(len(gt_boxes), torch.arange(num) + 1, torch.ones(num),
                          labels=torch.zeros(num, dtype=torch.long))
    return SamplingResult(torch.arange(num), torch.zeros(0, dtype=torch.long), boxes, gt_boxes,
                          assign, torch.zeros(num, dtype=torch.uint8))


def test_sub_regions_of_a_3x3_grid():
    # whole map 56 px, sub-regions 28 px: corners at 0 / 28, middles at int(0.25 * 56) = 14
    head = _grid_head()
    assert head.sub_regions[0] == (0, 0, 28, 28)
    assert head.sub_regions[4] == (14, 14, 42, 42)
    assert head.sub_regions[8] == (28, 28, 56, 56)
    assert head.sub_regions[2] == (0, 28, 28, 56)  # column 0, row 2
    assert head.neighbor_points[4] == (1, 3, 5, 7) and head.num_edges == 24


def test_targets_mark_each_gt_point_with_a_disk():
    head = _grid_head()
    # the RoI is the GT box [0, 0, 28, 28]; enlarged twice it spans 56 px = the 56 px map, so
    # every GT grid point lands at (14, 14) of its point's sub-region
    box = torch.tensor([[0., 0., 28., 28.]])
    targets = head.get_targets([_positives(box, box)], dict(pos_radius=1))
    assert targets.shape == (1, 9, 28, 28)
    disk = torch.zeros(28, 28)
    disk[14, 13:16] = 1
    disk[13:16, 14] = 1
    for j in range(9):
        torch.testing.assert_close(targets[0, j], disk)
    # an enlarged box at most 3 px wide gets no target
    tiny = torch.tensor([[0., 0., 1., 20.]])
    assert head.get_targets([_positives(tiny, tiny)], dict(pos_radius=1)).sum() == 0


def test_boxes_are_the_score_weighted_edges_of_the_heatmap_peaks():
    head = _grid_head()
    det = torch.tensor([[10., 10., 38., 38., 0.9]])
    heatmaps = torch.full((1, 9, 28, 28), -10.)
    heatmaps[0, :, 14, 14] = 10.  # every point at the centre of its sub-region
    # x1 from column 0: (14 + 0.5) / 28 * 28 + (10 - 14) = 10.5; x2 from column 2: 28 px on
    boxes = head.get_bboxes(det, heatmaps, [dict(img_shape=(64, 64, 3))])
    torch.testing.assert_close(boxes, torch.tensor([[10.5, 10.5, 38.5, 38.5, 0.9]]))


def test_forward_shapes_and_square_input_check():
    head = _grid_head()
    head.train()
    out = head(torch.randn(2, 8, 14, 14))
    assert out['fused'].shape == out['unfused'].shape == (2, 9, 28, 28)
    head.eval()
    out = head(torch.randn(2, 8, 14, 14))
    assert out['unfused'] is out['fused']
    with pytest.raises(ValueError, match='14x14'):
        head(torch.randn(1, 8, 7, 7))
    with pytest.raises(ValueError, match='square number'):
        build_head(dict(type='GridHead', grid_points=8, point_feat_channels=4,
                        norm_cfg=dict(type='GN', num_groups=32)))


def _roi_head():
    extractor = dict(type='SingleRoIExtractor',
                     roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                     out_channels=8, featmap_strides=[4, 8])
    cfg = dict(
        type='GridRoIHead', bbox_roi_extractor=extractor,
        bbox_head=dict(type='Shared2FCBBoxHead', with_reg=False, in_channels=8,
                       fc_out_channels=16, roi_feat_size=7, num_classes=3),
        grid_roi_extractor=dict(extractor, roi_layer=dict(type='RoIAlign', output_size=14,
                                                          sampling_ratio=0)),
        grid_head=dict(type='GridHead', grid_points=9, num_convs=1, in_channels=8,
                       point_feat_channels=4, norm_cfg=dict(type='GN', num_groups=36)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                     min_pos_iou=0.5, ignore_iof_thr=-1),
                       sampler=dict(type='RandomSampler', num=32, pos_fraction=0.25,
                                    neg_pos_ub=-1, add_gt_as_proposals=True),
                       pos_radius=1, max_num_grid=2, pos_weight=-1),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3), max_per_img=5))
    torch.manual_seed(0)
    return build_head(cfg)


def test_grid_roi_head_trains_and_refines_detections():
    head = _roi_head()
    torch.manual_seed(1)
    x = [torch.randn(2, 8, 16, 16), torch.randn(2, 8, 8, 8)]
    metas = [dict(img_shape=(64, 64, 3), ori_shape=(32, 32, 3), pad_shape=(64, 64, 3),
                  scale_factor=np.full(4, 2., np.float32), flip=False)] * 2
    proposals = [torch.tensor([[8., 8., 40., 36., .9], [44., 44., 60., 60., .8]]),
                 torch.zeros(0, 5)]
    gt_bboxes = [torch.tensor([[8., 8., 40., 40.], [30., 30., 60., 60.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2, 1]), torch.zeros(0, dtype=torch.long)]
    losses = head.forward_train(x, metas, proposals, gt_bboxes, gt_labels)
    assert set(losses) == {'loss_cls', 'acc', 'loss_grid'}  # no regression branch
    losses['loss_grid'].backward()
    head.eval()
    with torch.no_grad():
        results = head.simple_test(x, proposals, metas, rescale=True)
        (dets, _), (labels, _) = head.simple_test_bboxes(x, metas, proposals, head.test_cfg)
        heatmaps = head.grid_head(head.grid_roi_extractor(x, bbox2roi([dets[:, :4]])))['fused']
        expected = head.grid_head.get_bboxes(dets, heatmaps, metas[:1])
    expected[:, :4] /= 2  # rescaled to the 32 x 32 original frame
    assert len(dets) > 0 and all(len(b) == 0 for b in results[1])
    for c, class_dets in enumerate(results[0]):
        np.testing.assert_allclose(class_dets, expected[labels == c].numpy(), rtol=1e-6)

"""PointRend's pieces against worked values: point sampling and coordinate conversion,
SimpleRoIAlign on a ramp, uncertainty and test-time point selection, the coarse and point heads,
point targets from a GT mask; the RoI head's losses with and without positive RoIs and its
test-time refinement."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict

from mmdet_lite.core import BitmapMasks
from mmdet_lite.models import build_detector, build_head
from mmdet_lite.models.layers import point_sample, rel_roi_point_to_rel_img_point
from mmdet_lite.models.roi_heads.roi_extractors.simple_roi_align import SimpleRoIAlign
from mmdet_lite.models.utils import get_uncertainty

pytestmark = pytest.mark.usefixtures('one_thread')


def test_point_sample_and_coordinates_worked():
    feat = torch.tensor([[[[1., 2.], [3., 4.]]]])
    # [0, 1] coordinates over the map: the centre averages all four pixels, (0.25, 0.25) is
    # pixel (0, 0)'s centre, (0.75, 0.25) pixel (0, 1)'s
    points = torch.tensor([[[0.5, 0.5], [0.25, 0.25], [0.75, 0.25]]])
    torch.testing.assert_close(point_sample(feat, points), torch.tensor([[[2.5, 1., 2.]]]))
    # RoI (10, 20)-(30, 60): its point (0.5, 0.25) is pixel (20, 30), i.e. feature pixel (5, 7.5)
    # of a stride-4 map 32 wide and 16 high -> (5 / 32, 7.5 / 16)
    rois = torch.tensor([[0., 10., 20., 30., 60.]])
    rel = rel_roi_point_to_rel_img_point(rois, torch.tensor([[[0.5, 0.25]]]), (16, 32), 0.25)
    torch.testing.assert_close(rel, torch.tensor([[[5 / 32, 7.5 / 16]]]))


def test_simple_roi_align_samples_cell_centres():
    # f(y, x) = x at pixel centres x + 0.5: bilinear value at image x is x - 0.5
    feat = torch.arange(8.).repeat(1, 1, 8, 1)
    layer = SimpleRoIAlign(output_size=4, spatial_scale=1.0)
    out = layer(feat, torch.tensor([[0., 0., 0., 8., 8.]]))
    torch.testing.assert_close(out[0, 0], torch.tensor([0.5, 2.5, 4.5, 6.5]).repeat(4, 1))


def _cfg() -> dict:
    cfg = copy.deepcopy(Config.fromfile('tests/data/mmdet2_detectors/point_rend.py').model)
    return cfg.to_dict()


def test_uncertainty_and_test_points_worked():
    head = build_head(_cfg()['roi_head']['point_head'])
    logits = torch.tensor([[[[3., -0.1], [-2., 5.]], [[0., 0.], [0., 0.]]]]).repeat(1, 3, 1, 1)
    torch.testing.assert_close(get_uncertainty(logits[:, :2], torch.tensor([0])),
                               -logits[:, :1].abs())
    cfg = ConfigDict(subdivision_num_points=2)
    inds, coords = head.get_roi_rel_points_test(logits[:, :2], torch.tensor([0]), cfg)
    # the two logits nearest 0 (-0.1 at (0, 1), -2 at (1, 0)) and their cell centres
    assert inds.tolist() == [[1, 2]]
    torch.testing.assert_close(coords, torch.tensor([[[0.75, 0.25], [0.25, 0.75]]]))


def test_coarse_and_point_heads():
    cfg = _cfg()['roi_head']
    coarse = build_head(cfg['mask_head'])
    coarse.init_weights()
    assert 'conv_logits.weight' not in coarse.state_dict()
    assert {'downsample_conv.conv.weight', 'fcs.0.weight', 'fcs.1.weight',
            'fc_logits.weight'} <= set(coarse.state_dict())
    assert (coarse.fc_logits.weight == 0.001).all()
    assert coarse(torch.randn(3, 16, 14, 14)).shape == (3, 5, 7, 7)
    point = build_head(cfg['point_head'])
    assert point(torch.randn(3, 16, 10), torch.randn(3, 5, 10)).shape == (3, 5, 10)
    assert point.fcs[0].conv.in_channels == 21 and point.fc_logits.in_channels == 21


def test_point_targets_from_gt_mask():
    point = build_head(_cfg()['roi_head']['point_head'])
    mask = np.zeros((1, 8, 8), dtype=np.uint8)
    mask[0, :, :4] = 1   # left half
    res = type('Res', (), dict(pos_assigned_gt_inds=torch.tensor([0])))()
    rois = torch.tensor([[0., 0., 0., 8., 8.]])
    pts = torch.tensor([[[0.25, 0.5], [0.75, 0.5]]])
    cfg = ConfigDict(num_points=2)
    targets = point.get_targets(rois, pts, [res], [BitmapMasks(mask, 8, 8)], cfg)
    torch.testing.assert_close(targets, torch.tensor([[1., 0.]]))


def test_losses_with_and_without_objects_and_refined_masks():
    torch.manual_seed(0)
    model = build_detector(_cfg())
    model.init_weights()
    imgs = torch.randn(2, 3, 64, 96)
    metas = [dict(img_shape=(64, 96, 3), ori_shape=(64, 96, 3), pad_shape=(64, 96, 3),
                  scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None,
                  filename=f'{i}.png', ori_filename=f'{i}.png') for i in range(2)]
    gt_bboxes = [torch.tensor([[10., 8., 50., 40.]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([1]), torch.zeros(0, dtype=torch.long)]
    mask = np.zeros((1, 64, 96), np.uint8)
    mask[0, 8:40, 10:50] = 1
    gt_masks = [BitmapMasks(mask, 64, 96), BitmapMasks(np.zeros((0, 64, 96), np.uint8), 64, 96)]
    losses = model.forward_train(imgs, metas, gt_bboxes, gt_labels, gt_masks=gt_masks)
    assert losses['loss_point'] > 0 and torch.isfinite(losses['loss_mask'])
    # no object in the batch: the point loss is a zero that keeps the graph
    losses = model.forward_train(imgs, metas, [torch.zeros(0, 4)] * 2,
                                 [torch.zeros(0, dtype=torch.long)] * 2,
                                 gt_masks=[gt_masks[1]] * 2)
    assert losses['loss_point'] == 0 and losses['loss_point'].requires_grad
    # test time: 7x7 coarse logits upsampled 5 times to 224x224; from 28x28 on (fewer cells
    # than 4 x 784 before) the 784 most uncertain cells of each step get the point head's value
    model.eval()
    roi_head = model.roi_head
    x = model.extract_feat(imgs[:1])
    rois = torch.tensor([[0., 10., 8., 50., 40.]])
    coarse = roi_head._mask_forward(x, rois)['mask_pred']
    calls = []

    def constant_points(fine, coarse_points):
        calls.append(fine.shape[-1])
        return torch.full_like(coarse_points, 100.)

    roi_head.point_head.forward = constant_points
    refined = roi_head._mask_point_forward_test(x, rois, torch.tensor([1]), coarse)
    assert coarse.shape == (1, 5, 7, 7) and refined.shape == (1, 5, 224, 224)
    assert calls == [784] * 4
    assert ((refined == 100.).flatten(2).sum(-1) >= 784).all()

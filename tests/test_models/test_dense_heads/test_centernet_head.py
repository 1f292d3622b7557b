"""CenterNetHead and the Gaussian-target helpers: worked targets, decoding, empty ground truth,
the optional border and NMS."""
import numpy as np
import pytest
import torch

from mmdet_lite.models import build_head
from mmdet_lite.models.utils.gaussian_target import (gaussian_radius, gen_gaussian_target,
                                                     get_local_maximum)

from ._helpers import make_metas

pytestmark = pytest.mark.usefixtures('one_thread')


def _head(**test_cfg):
    cfg = dict(topk=10, local_maximum_kernel=3, max_per_img=10)
    cfg.update(test_cfg)
    torch.manual_seed(0)
    head = build_head(dict(type='CenterNetHead', num_classes=2, in_channel=4, feat_channel=4,
                           test_cfg=cfg))
    head.init_weights()
    return head


def test_gaussian_helpers_worked_values():
    heatmap = torch.zeros(5, 5)
    gen_gaussian_target(heatmap, [1, 2], radius=1)
    # sigma = 3 / 6: neighbours exp(-1 / (2 * 0.25)) = exp(-2), diagonals exp(-4)
    assert heatmap[2, 1] == 1 and heatmap.sum() > 1
    torch.testing.assert_close(heatmap[2, 0], torch.tensor(np.exp(-2.), dtype=torch.float32))
    torch.testing.assert_close(heatmap[1, 0], torch.tensor(np.exp(-4.), dtype=torch.float32))
    assert heatmap[:, 3:].abs().max() == 0
    # a 10 x 10 box at min IoU 0.3: r1 = 3.206, r3 = 5.536, and case 2 (both corners
    # inside) is the tightest: (40 - sqrt(40^2 - 16 * 0.7 * 100)) / 8 = 2.2614
    assert gaussian_radius([10, 10], 0.3) == pytest.approx(2.2614, abs=1e-4)
    # 0.9 is the only maximum of its 3 x 3 neighbourhood; 0.5 lies in 0.9's
    peaks = get_local_maximum(torch.tensor([[[[0.1, 0.5, 0.2, 0.0], [0.3, 0.4, 0.9, 0.0],
                                              [0.0, 0.0, 0.0, 0.0], [0.7, 0.0, 0.0, 0.0]]]]))
    assert peaks[0, 0].nonzero().tolist() == [[1, 2], [3, 0]]


def test_targets_of_one_box():
    # 64 x 64 input, 16 x 16 output (ratio 1/4): box [8, 12, 40, 28] -> centre (6, 5), size 8 x 4
    head = _head()
    targets, avg_factor = head.get_targets([torch.tensor([[8., 12., 40., 28.]])],
                                           [torch.tensor([1])], (1, 2, 16, 16), (64, 64, 3))
    assert avg_factor == 1
    assert targets.center_heatmap_target[0, 1, 5, 6] == 1
    assert targets.center_heatmap_target[0, 0].abs().max() == 0
    assert targets.wh_target[0, :, 5, 6].tolist() == [8., 4.]
    assert targets.offset_target[0, :, 5, 6].tolist() == [0., 0.]
    assert targets.wh_offset_target_weight.sum() == 2


def test_empty_gt_gives_heatmap_loss_only():
    head = _head()
    outs = head([torch.randn(1, 4, 16, 16)])
    losses = head.loss(*outs, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                       make_metas(img_shape=(64, 64)))
    assert losses['loss_center_heatmap'].item() > 0
    assert losses['loss_wh'].item() == 0 and losses['loss_offset'].item() == 0


def test_one_gt_gives_every_loss():
    head = _head()
    outs = head([torch.randn(1, 4, 16, 16)])
    losses = head.loss(*outs, [torch.tensor([[8., 12., 41., 30.]])], [torch.tensor([1])],
                       make_metas(img_shape=(64, 64)))
    assert all(v.item() > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in head.parameters())


def _one_peak_outputs():
    """A 16 x 16 output of a 64 x 64 input: one class-1 peak at (x, y) = (6, 5) with offset
    (0.5, 0.25) and size 8 x 4 output pixels; every other score 0.01."""
    heatmap = torch.full((1, 2, 16, 16), 0.01)
    heatmap[0, 1, 5, 6] = 0.9
    wh = torch.zeros(1, 2, 16, 16)
    wh[0, :, 5, 6] = torch.tensor([8., 4.])
    offset = torch.zeros(1, 2, 16, 16)
    offset[0, :, 5, 6] = torch.tensor([0.5, 0.25])
    return [heatmap], [wh], [offset]


def test_decoding_border_and_rescale():
    head = _head()
    metas = make_metas(img_shape=(64, 64), scale_factor=2.)
    (bboxes, labels), = head.get_bboxes(*_one_peak_outputs(), img_metas=metas, rescale=False)
    assert bboxes.shape == (10, 5) and labels[0] == 1
    # centre (6.5, 5.25) * 4 = (26, 21); size (32, 16)
    torch.testing.assert_close(bboxes[0], torch.tensor([10., 13., 42., 29., 0.9]))
    metas[0]['border'] = np.array([2., 62., 4., 60.], dtype=np.float32)
    (bboxes, _), = head.get_bboxes(*_one_peak_outputs(), img_metas=metas, rescale=True)
    torch.testing.assert_close(bboxes[0], torch.tensor([3., 5.5, 19., 13.5, 0.9]))


def test_with_nms_and_max_per_img():
    head = _head(nms=dict(type='nms', iou_threshold=0.5), max_per_img=3)
    (bboxes, labels), = head.get_bboxes(*_one_peak_outputs(),
                                        img_metas=make_metas(img_shape=(64, 64)),
                                        with_nms=True)
    assert len(bboxes) == len(labels) == 3 and bboxes[0, 4] == pytest.approx(0.9)

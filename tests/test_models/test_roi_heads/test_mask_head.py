"""FCNMaskHead: layers, loss on the GT class channel, mask pasting on worked examples."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.models.detection.roi_heads import paste_masks_in_image

from mmdet_lite.core import BitmapMasks
from mmdet_lite.models.builder import build_head
from mmdet_lite.models.roi_heads.mask_heads import (paste_masks_grid_sample,
                                                    paste_masks_torchvision)


def _head(**kwargs):
    cfg = dict(type='FCNMaskHead', num_convs=2, roi_feat_size=6, in_channels=4,
               conv_out_channels=8, num_classes=3)
    cfg.update(kwargs)
    head = build_head(cfg)
    head.init_weights()
    return head


def test_paste_worked_example_uniform_mask():
    # A 2x2 mask of ones in box [2, 2, 6, 6]. Pixel centres x + 0.5 map to grid coordinates
    # (x + 0.5 - 2) / 4 * 2 - 1, i.e. mask coordinates ((g + 1) * 2 - 1) / 2: for x = 0..7 they
    # are -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.75, 2.25, and bilinear sampling with zero
    # padding gives 0, .25, .75, 1, 1, .75, .25, 0 along each axis.
    profile = torch.tensor([0, .25, .75, 1, 1, .75, .25, 0])
    expected = profile[:, None] * profile[None, :]
    masks = torch.ones(1, 1, 2, 2)
    pasted, spatial = paste_masks_grid_sample(masks, torch.tensor([[2., 2., 6., 6.]]), 8, 8,
                                              skip_empty=False)
    assert spatial == ()
    torch.testing.assert_close(pasted[0], expected)
    # skip_empty computes only rows/cols floor(2) - 1 .. ceil(6) + 1 = 1..7
    region, (sy, sx) = paste_masks_grid_sample(masks, torch.tensor([[2., 2., 6., 6.]]), 8, 8)
    assert (sy, sx) == (slice(1, 7), slice(1, 7))
    torch.testing.assert_close(region[0], expected[1:7, 1:7])


def test_paste_worked_example_corner_mask():
    # Mask [[1, 0], [0, 0]] in box [0, 0, 4, 4]: mask coordinates of pixels 0..3 are
    # -0.25, 0.25, 0.75, 1.25 -> weights of mask pixel 0: .75, .75, .25, 0.
    weights = torch.tensor([.75, .75, .25, 0.])
    masks = torch.tensor([[[[1., 0.], [0., 0.]]]])
    pasted, _ = paste_masks_grid_sample(masks, torch.tensor([[0., 0., 4., 4.]]), 5, 6,
                                        skip_empty=False)
    expected = torch.zeros(5, 6)
    expected[:4, :4] = weights[:, None] * weights[None, :]
    torch.testing.assert_close(pasted[0], expected)


def test_paste_torchvision_mode_matches_torchvision():
    torch.manual_seed(0)
    masks = torch.rand(3, 1, 28, 28)
    boxes = torch.tensor([[3.3, 4.7, 40.2, 30.9], [-5., 10., 20., 70.], [50., 2., 63.9, 9.]])
    ours = paste_masks_torchvision(masks, boxes, 60, 64)
    theirs = paste_masks_in_image(masks, boxes, (60, 64), padding=1)[:, 0]
    torch.testing.assert_close(ours, theirs)
    assert paste_masks_torchvision(masks[:0], boxes[:0], 60, 64).shape == (0, 60, 64)


def test_layers_names_and_shapes():
    head = _head()
    names = [k for k in head.state_dict()]
    assert names == ['convs.0.conv.weight', 'convs.0.conv.bias', 'convs.1.conv.weight',
                     'convs.1.conv.bias', 'upsample.weight', 'upsample.bias',
                     'conv_logits.weight', 'conv_logits.bias']
    out = head(torch.randn(5, 4, 6, 6))
    assert out.shape == (5, 3, 12, 12)
    assert _head(class_agnostic=True)(torch.randn(2, 4, 6, 6)).shape == (2, 1, 12, 12)
    nearest = _head(upsample_cfg=dict(type='nearest', scale_factor=2))
    assert nearest(torch.randn(2, 4, 6, 6)).shape == (2, 3, 12, 12)
    assert _head()(torch.randn(0, 4, 6, 6)).shape == (0, 3, 12, 12)
    carafe = _head(upsample_cfg=dict(type='carafe', scale_factor=2, up_kernel=3,
                                     compressed_channels=4))
    assert 'upsample.content_encoder.weight' in carafe.state_dict()
    assert carafe(torch.randn(2, 4, 6, 6)).shape == (2, 3, 12, 12)
    with pytest.raises(ValueError, match='pixel_shuffle'):
        _head(upsample_cfg=dict(type='pixel_shuffle', scale_factor=2))
    with pytest.raises(ValueError, match='mask_paste'):
        _head(mask_paste='detectron')


def test_loss_uses_only_the_gt_class_channel():
    torch.manual_seed(0)
    head = _head()
    mask_pred = torch.randn(4, 3, 12, 12, requires_grad=True)
    targets = (torch.rand(4, 12, 12) > 0.5).float()
    labels = torch.tensor([2, 0, 1, 2])
    loss = head.loss(mask_pred, targets, labels)['loss_mask']
    expected = F.binary_cross_entropy_with_logits(mask_pred[torch.arange(4), labels], targets)
    # 2.x's mask_cross_entropy returns shape (1,)
    torch.testing.assert_close(loss.reshape(()), expected)
    loss.backward()
    other = torch.ones(4, 3, dtype=torch.bool)
    other[torch.arange(4), labels] = False
    assert mask_pred.grad[other].abs().sum() == 0
    agnostic = _head(class_agnostic=True).loss(mask_pred[:, :1], targets, labels)['loss_mask']
    torch.testing.assert_close(agnostic.reshape(()), F.binary_cross_entropy_with_logits(
        mask_pred[:, 0], targets))
    empty = head.loss(mask_pred[:0], targets[:0], labels[:0])['loss_mask']
    assert empty.item() == 0 and empty.requires_grad


def test_get_targets_from_sampling_results():
    head = _head()

    class _Res:  # the two attributes the mask head reads from a SamplingResult
        def __init__(self, pos_bboxes, pos_assigned_gt_inds):
            self.pos_bboxes, self.pos_assigned_gt_inds = pos_bboxes, pos_assigned_gt_inds

    canvas = np.zeros((1, 16, 16), np.uint8)
    canvas[0, 4:12, 4:12] = 1
    targets = head.get_targets(
        [_Res(torch.tensor([[4., 4., 12., 12.]]), torch.tensor([0])),
         _Res(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))],
        [BitmapMasks(canvas, 16, 16), BitmapMasks(canvas, 16, 16)], dict(mask_size=12))
    assert targets.shape == (1, 12, 12) and targets.eq(1).all()


def test_get_seg_masks_pastes_at_original_size_by_label():
    head = _head()
    big = 20.
    # logits: class 1 channel all "on", other channels all "off"
    mask_pred = torch.full((2, 3, 12, 12), -big)
    mask_pred[0, 1] = big
    mask_pred[1, 2] = big
    mask_pred[1, 2, :, 6:] = -big  # right half off
    det_bboxes = torch.tensor([[4., 6., 16., 14., .9], [0., 0., 8., 8., .8]])
    det_labels = torch.tensor([1, 2])
    scale = np.array([2., 2., 2., 2.], np.float32)  # resized = 2 x original
    segms = head.get_seg_masks(mask_pred, det_bboxes, det_labels, dict(mask_thr_binary=0.5),
                               ori_shape=(10, 12, 3), scale_factor=scale, rescale=True)
    assert [len(s) for s in segms] == [0, 1, 1]
    m1, m2 = segms[1][0], segms[2][0]
    assert m1.shape == (10, 12) and m1.dtype == bool
    # box 1 in the original frame: [2, 3, 8, 7]
    expected1 = np.zeros((10, 12), bool)
    expected1[3:7, 2:8] = True
    assert np.array_equal(m1, expected1)
    # box 2: [0, 0, 4, 4], left half of the mask on -> columns 0..1
    expected2 = np.zeros((10, 12), bool)
    expected2[0:4, 0:2] = True
    assert np.array_equal(m2, expected2)
    # rescale=False: pasted at round(ori * scale) = (20, 24) with boxes as given
    segms = head.get_seg_masks(mask_pred, det_bboxes, det_labels, dict(mask_thr_binary=0.5),
                               ori_shape=(10, 12, 3), scale_factor=scale, rescale=False)
    assert segms[1][0].shape == (20, 24) and segms[1][0][6:14, 4:16].all()
    assert segms[1][0].sum() == 8 * 12
    # soft masks when mask_thr_binary < 0
    soft = head.get_seg_masks(mask_pred, det_bboxes, det_labels, dict(mask_thr_binary=-1),
                              ori_shape=(10, 12, 3), scale_factor=scale, rescale=True)
    assert soft[1][0].dtype == np.uint8 and soft[1][0].max() == 255
    # torchvision pasting agrees on a box-aligned mask
    tv = _head(mask_paste='torchvision').get_seg_masks(
        mask_pred, det_bboxes, det_labels, dict(mask_thr_binary=0.5), ori_shape=(10, 12, 3),
        scale_factor=scale, rescale=True)
    assert tv[1][0].shape == (10, 12) and tv[1][0][3:7, 2:8].all()


def test_get_seg_masks_without_detections():
    head = _head()
    segms = head.get_seg_masks(torch.zeros(0, 3, 12, 12), torch.zeros(0, 5),
                               torch.zeros(0, dtype=torch.long), dict(mask_thr_binary=0.5),
                               ori_shape=(10, 12, 3), scale_factor=np.ones(4, np.float32),
                               rescale=True)
    assert segms == [[], [], []]

"""mask_target: RoIAligned GT masks of positive proposals, checked on hand-made masks."""
import numpy as np
import pytest
import torch

from mmdet_lite.core import BitmapMasks, PolygonMasks, mask_target


def _hand_mask():
    """One 20x20 canvas with a 10x8 rectangle (x 6..15, y 4..11) and one empty mask."""
    masks = np.zeros((2, 20, 20), dtype=np.uint8)
    masks[0, 4:12, 6:16] = 1
    return BitmapMasks(masks, 20, 20)


def test_box_on_the_object_gives_ones_and_full_canvas_gives_the_mask():
    gt = _hand_mask()
    targets = mask_target([torch.tensor([[6., 4., 16., 12.], [0., 0., 20., 20.]])],
                          [torch.tensor([0, 0])], [gt], dict(mask_size=(20, 20)))
    assert targets.shape == (2, 20, 20) and targets.dtype == torch.float32
    assert torch.equal(targets[0], torch.ones(20, 20))
    # a 20x20 box on a 20x20 canvas samples every pixel centre: the target is the mask
    assert torch.equal(targets[1], torch.from_numpy(gt.masks[0]).float())


def test_partial_box_clipping_and_gt_index():
    gt = _hand_mask()
    proposals = torch.tensor([[-10., -10., 30., 30.],   # clipped to the canvas
                              [11., 0., 21., 8.],       # right/top part: x>=11, y<8
                              [6., 4., 16., 12.]])      # the object, but assigned to mask 1
    targets = mask_target([proposals], [torch.tensor([0, 0, 1])], [gt],
                          dict(mask_size=(20, 10)))
    assert targets.shape == (3, 20, 10)
    expected_full = torch.from_numpy(gt.masks[0][:, ::2]).float()  # 20 rows, 10 cols
    # columns of the clipped 20x20 box: bin centres at x = 1, 3, ..., 19 (aligned -0.5 shift
    # puts them between pixels 2k and 2k+1, averaging two equal pixels except at edges 6, 16)
    assert torch.equal(targets[0][:, 4:7], expected_full[:, 4:7])
    assert targets[0][:4].sum() == 0 and targets[0][12:].sum() == 0
    # box [11, 0, 21, 8] clipped to x<=20: the object occupies x 11..15 (left half), y 4..7
    # (bottom half); mask_size rows are 2.5 px tall -> rows >= 8 of 20 are inside the object
    part = targets[1]
    assert part[:, 6:].sum() == 0          # x >= 16 is background
    assert part[12:, :4].eq(1).all()       # y in [4.8, 8) and x in [11, 15): object
    assert part[:6, :].sum() == 0          # y < 2.4: background
    assert targets[2].sum() == 0           # mask 1 is empty


def test_soft_targets_and_polygons():
    gt = _hand_mask()
    soft = mask_target([torch.tensor([[5., 4., 7., 6.]])], [torch.tensor([0])], [gt],
                       dict(mask_size=1, soft_mask_target=True))
    # box x 5..7 over pixels 5 (bg) and 6 (fg): the mean is 0.5
    assert soft.shape == (1, 1, 1) and abs(float(soft) - 0.5) < 1e-5
    poly = PolygonMasks([[np.array([6., 4., 16., 4., 16., 12., 6., 12.])]], 20, 20)
    targets = mask_target([torch.tensor([[6., 4., 16., 12.], [0., 0., 6., 4.]])],
                          [torch.tensor([0, 0])], [poly], dict(mask_size=7))
    assert torch.equal(targets[0], torch.ones(7, 7)) and targets[1].sum() == 0


def test_batch_with_an_image_without_positives():
    gt = _hand_mask()
    targets = mask_target([torch.zeros(0, 4), torch.tensor([[6., 4., 16., 12.]])],
                          [torch.zeros(0, dtype=torch.long), torch.tensor([0])],
                          [BitmapMasks(np.zeros((0, 20, 20), np.uint8), 20, 20), gt],
                          dict(mask_size=28))
    # aligned RoIAlign, one sample per bin: the corner bins sample at (5.68, 3.64), i.e.
    # 0.679 x 0.643 = 0.436 of the object -> background; every other bin is >= 0.5
    expected = torch.ones(28, 28)
    expected[0, 0] = expected[0, -1] = expected[-1, 0] = expected[-1, -1] = 0
    assert targets.shape == (1, 28, 28) and torch.equal(targets[0], expected)
    soft = mask_target([torch.tensor([[6., 4., 16., 12.]])], [torch.tensor([0])], [gt],
                       dict(mask_size=28, soft_mask_target=True))
    wx, wy = (6 + 10 / 56 - 0.5) - 5, (4 + 8 / 56 - 0.5) - 3  # weights of pixels 6 and 4
    assert abs(float(soft[0, 0, 0]) - wx * wy) < 1e-5
    empty = mask_target([torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], [gt],
                        dict(mask_size=28))
    assert empty.shape == (0, 28, 28)
    with pytest.raises(KeyError, match='mask_size'):
        mask_target([torch.zeros(1, 4)], [torch.zeros(1, dtype=torch.long)], [gt], dict())

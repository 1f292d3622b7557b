"""Mosaic, MixUp, CopyPaste, RandomAffine and YOLOXHSVRandomAug against hand-computed cases."""
import numpy as np
import pytest

from mmdet_lite.core import BitmapMasks
from mmdet_lite.datasets.pipelines import (CopyPaste, MixUp, Mosaic, RandomAffine,
                                           YOLOXHSVRandomAug)

from ._pipeline_samples import FixedRandom, make_sample


def square_sample(size: int, box, label: int, value: int, masks: bool = False) -> dict:
    """A (size, size) uint8 image, ``value`` in channel 0 inside ``box``, one labelled box."""
    img = np.zeros((size, size, 3), np.uint8)
    boxes = np.asarray(box, np.float32).reshape(-1, 4)
    for x1, y1, x2, y2 in boxes.astype(int):
        img[y1:y2, x1:x2, 0] = value
    results = dict(img=img, img_shape=img.shape, img_fields=['img'], gt_bboxes=boxes,
                   gt_labels=np.full(len(boxes), label, np.int64), bbox_fields=['gt_bboxes'])
    if masks:
        bitmaps = np.zeros((len(boxes), size, size), np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
            bitmaps[i, y1:y2, x1:x2] = 1
        results['gt_masks'] = BitmapMasks(bitmaps, size, size)
        results['mask_fields'] = ['gt_masks']
    return results


def test_mosaic_centred_four_quadrants():
    parts = [square_sample(32, [4, 4, 12, 20], i, 50 * (i + 1)) for i in range(4)]
    results = dict(parts[0], mix_results=parts[1:])
    out = Mosaic(img_scale=(32, 32), center_ratio_range=(1.0, 1.0))(results)
    assert out['img'].shape == (64, 64, 3) and out['img_shape'] == (64, 64, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[4, 4, 12, 20], [36, 4, 44, 20],
                                                  [4, 36, 12, 52], [36, 36, 44, 52]])
    np.testing.assert_array_equal(out['gt_labels'], [0, 1, 2, 3])
    for (x1, y1, _, _), value in zip(out['gt_bboxes'].astype(int), [50, 100, 150, 200]):
        assert out['img'][y1, x1, 0] == value


def test_mosaic_off_centre_cuts_and_drops_boxes():
    # 16x16 images are doubled to 32x32; centre (16, 16) shows the inner corner of each one
    parts = [square_sample(16, [2, 2, 6, 10], i, 200) for i in range(4)]
    out = Mosaic(img_scale=(32, 32), center_ratio_range=(0.5, 0.5), pad_val=7)(
        dict(parts[0], mix_results=parts[1:]))
    np.testing.assert_allclose(out['gt_bboxes'], [[20, 0, 28, 4], [20, 20, 28, 36]])
    np.testing.assert_array_equal(out['gt_labels'], [1, 3])
    assert out['img'][63, 63, 0] == 7  # pad_val outside the four pasted images
    empty = [square_sample(16, np.zeros((0, 4)), 0, 0) for _ in range(4)]
    out = Mosaic(img_scale=(32, 32))(dict(empty[0], mix_results=empty[1:]))
    assert out['gt_bboxes'].shape == (0, 4) and len(out['gt_labels']) == 0


def test_mosaic_errors_name_the_fix():
    with pytest.raises(KeyError, match='MultiImageMixDataset'):
        Mosaic()(square_sample(16, [2, 2, 6, 10], 0, 1))
    with pytest.raises(ValueError, match='boxes only'):
        Mosaic()(dict(make_sample(), mix_results=[make_sample()] * 3))


def test_mixup_hand_computed_blend():
    main = square_sample(32, [4, 4, 12, 12], 0, 200)
    other = square_sample(32, [16, 16, 24, 28], 5, 100)
    out = MixUp(img_scale=(32, 32), ratio_range=(1, 1), flip_ratio=0.0)(
        dict(main, mix_results=[other]))
    assert out['img'].shape == (32, 32, 3) and out['img'].dtype == np.uint8
    np.testing.assert_allclose(out['gt_bboxes'], [[4, 4, 12, 12], [16, 16, 24, 28]])
    np.testing.assert_array_equal(out['gt_labels'], [0, 5])
    assert out['img'][20, 20, 0] == 50 and out['img'][6, 6, 0] == 100


def test_mixup_rescales_flips_and_skips_empty():
    main = square_sample(32, [4, 4, 12, 12], 0, 200)
    other = square_sample(64, [16, 16, 24, 28], 5, 100)  # fitted into 32x32: halved
    out = MixUp(img_scale=(32, 32), ratio_range=(1, 1), flip_ratio=1.0)(
        dict(main, mix_results=[other]))
    np.testing.assert_allclose(out['gt_bboxes'][1], [20, 8, 24, 14])  # x -> 32 - x
    empty_other = square_sample(32, np.zeros((0, 4)), 0, 0)
    kept = MixUp()(dict(square_sample(32, [4, 4, 12, 12], 0, 200), mix_results=[empty_other]))
    assert kept['img'][6, 6, 0] == 200 and len(kept['gt_bboxes']) == 1
    empty_main = square_sample(32, np.zeros((0, 4)), 0, 0)
    out = MixUp(img_scale=(32, 32), ratio_range=(1, 1), flip_ratio=0.0)(
        dict(empty_main, mix_results=[square_sample(32, [16, 16, 24, 28], 5, 100)]))
    np.testing.assert_array_equal(out['gt_labels'], [5])


def test_copy_paste_occludes_and_appends():
    dst = square_sample(32, [[0, 0, 16, 16], [10, 18, 20, 22]], 0, 60, masks=True)
    src = square_sample(32, [[8, 8, 24, 24], [26, 26, 30, 30]], 1, 250, masks=True)
    src['gt_labels'] = np.array([1, 2])
    out = CopyPaste(selected=False)(dict(dst, mix_results=[src]))
    # A keeps its box (only its inner corner is covered); the small object under B is gone
    np.testing.assert_allclose(out['gt_bboxes'], [[0, 0, 16, 16], [8, 8, 24, 24],
                                                  [26, 26, 30, 30]])
    np.testing.assert_array_equal(out['gt_labels'], [0, 1, 2])
    masks = out['gt_masks'].to_ndarray()
    assert masks.shape == (3, 32, 32) and masks[0, 10, 10] == 0 and masks[0, 2, 2] == 1
    assert out['img'][10, 10, 0] == 250 and out['img'][2, 2, 0] == 60
    by_box = CopyPaste(selected=False)(dict(
        square_sample(32, [[0, 0, 16, 16]], 0, 60), mix_results=[
            square_sample(32, [[8, 8, 24, 24]], 1, 250)]))
    assert 'gt_masks' not in by_box and len(by_box['gt_bboxes']) == 2


def test_copy_paste_empty_cases_and_selection(monkeypatch):
    src = square_sample(32, [[8, 8, 24, 24], [26, 26, 30, 30]], 1, 250, masks=True)
    empty_dst = square_sample(32, np.zeros((0, 4)), 0, 0, masks=True)
    out = CopyPaste(selected=False)(dict(empty_dst, mix_results=[src]))
    assert len(out['gt_bboxes']) == 2 and len(out['gt_masks']) == 2
    dst = square_sample(32, [[0, 0, 16, 16]], 0, 60, masks=True)
    empty_src = square_sample(32, np.zeros((0, 4)), 0, 0, masks=True)
    out = CopyPaste()(dict(dst, mix_results=[empty_src]))
    assert len(out['gt_bboxes']) == 1 and out['img'][2, 2, 0] == 60
    # selected: paste 1 object, the second one
    monkeypatch.setattr(np.random, 'randint', FixedRandom([1]))
    monkeypatch.setattr(np.random, 'choice', FixedRandom([np.array([1])]))
    dst = square_sample(32, [[0, 0, 16, 16]], 0, 60, masks=True)
    out = CopyPaste()(dict(dst, mix_results=[src]))
    np.testing.assert_allclose(out['gt_bboxes'], [[0, 0, 16, 16], [26, 26, 30, 30]])
    with pytest.raises(ValueError, match='one size'):
        CopyPaste()(dict(dst, mix_results=[square_sample(16, [[1, 1, 4, 4]], 0, 1)]))


def test_random_affine_scaling_and_border():
    # no rotation, shear or translation; scale 0.5 about the origin, output 48-16 x 64-32
    affine = RandomAffine(max_rotate_degree=0, max_translate_ratio=0,
                          scaling_ratio_range=(0.5, 0.5), max_shear_degree=0, border=(-8, -16))
    out = affine(make_sample(masks=False, seg=False))
    assert out['img'].shape == (32, 32, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[2, 3, 10, 15], [15, 5, 30, 20]])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[20, 15, 25, 22]])
    assert out['img'][10, 5, 0] == 255 and out['img'][31, 31, 0] == 114
    small = RandomAffine(max_rotate_degree=0, max_translate_ratio=0,
                         scaling_ratio_range=(0.25, 0.25), max_shear_degree=0,
                         min_bbox_size=5, skip_filter=False)
    out = small(make_sample(masks=False, seg=False))
    np.testing.assert_array_equal(out['gt_labels'], [1])  # A is 4 px wide after scaling
    out = affine(make_sample(empty=True, masks=False, seg=False))
    assert out['gt_bboxes'].shape == (0, 4)
    with pytest.raises(ValueError, match='boxes only'):
        affine(make_sample())


def test_yolox_hsv_value_gain(monkeypatch):
    grey = np.full((4, 4, 3), 100, np.uint8)
    monkeypatch.setattr(np.random, 'uniform', FixedRandom([np.array([0.0, 0.0, 1.0])]))
    monkeypatch.setattr(np.random, 'randint', FixedRandom([np.array([1, 1, 1])]))
    out = YOLOXHSVRandomAug(value_delta=30)(dict(img=grey))
    np.testing.assert_array_equal(out['img'], 130)
    with pytest.raises(TypeError, match='uint8'):
        YOLOXHSVRandomAug()(dict(img=grey.astype(np.float32)))

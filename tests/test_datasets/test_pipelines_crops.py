"""Crops, canvas moves, SegRescale and FilterAnnotations against worked examples."""
import numpy as np
import pytest

from mmdet_lite.datasets.pipelines import (Compose, Expand, FilterAnnotations, MinIoURandomCrop,
                                           RandomCenterCropPad, RandomCrop, RandomShift,
                                           SegRescale)

from ._pipeline_samples import H, W, FixedRandom, assert_consistent, box_of, make_sample


@pytest.mark.parametrize('polygons', [False, True])
def test_random_crop_worked_example_drops_cut_box_with_mask_and_label(monkeypatch, polygons):
    # window x 28..60, y 10..34: A = [4, 6, 20, 30] falls outside, B and the ignore box are cut
    monkeypatch.setattr(np.random, 'randint', FixedRandom([10, 28]))
    out = RandomCrop(crop_size=(24, 32))(make_sample(polygons))
    assert out['img'].shape == (24, 32, 3) and out['img_shape'] == (24, 32, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[2, 0, 32, 24]])
    np.testing.assert_array_equal(out['gt_labels'], [1])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[12, 20, 22, 24]])
    assert len(out['gt_masks']) == 1 and out['gt_semantic_seg'].shape == (24, 32)
    np.testing.assert_array_equal(np.unique(out['gt_semantic_seg']), [0, 2])
    assert_consistent(out)


def test_random_crop_without_boxes_is_dropped_unless_allowed(monkeypatch):
    monkeypatch.setattr(np.random, 'randint', FixedRandom([0, 0]))
    assert RandomCrop(crop_size=(4, 4))(make_sample()) is None
    monkeypatch.setattr(np.random, 'randint', FixedRandom([0, 0]))
    out = RandomCrop(crop_size=(4, 4), allow_negative_crop=True)(make_sample())
    assert out['gt_bboxes'].shape == (0, 4) and len(out['gt_labels']) == 0
    assert out['gt_masks'].to_ndarray().shape == (0, 4, 4)
    monkeypatch.undo()
    # 2.x: an image without ground truth is dropped unless negative crops are allowed
    assert RandomCrop(crop_size=(24, 32))(make_sample(empty=True)) is None
    out = RandomCrop(crop_size=(24, 32), allow_negative_crop=True)(make_sample(empty=True))
    assert out['img'].shape == (24, 32, 3) and len(out['gt_masks']) == 0


def test_random_crop_sizes_and_recompute_bbox(monkeypatch):
    crop = RandomCrop(crop_size=(0.5, 0.25), crop_type='relative')
    assert crop._get_crop_size((48, 64)) == (24, 16)
    assert RandomCrop((100, 20))._get_crop_size((48, 64)) == (48, 20)
    monkeypatch.setattr(np.random, 'randint', FixedRandom([30, 12]))
    assert RandomCrop((10, 40), 'absolute_range')._get_crop_size((48, 64)) == (30, 12)
    with pytest.raises(ValueError, match='crop_type'):
        RandomCrop((10, 10), crop_type='bad')
    with pytest.raises(ValueError, match='fractions'):
        RandomCrop((2, 2), crop_type='relative')
    # recompute_bbox takes the box from the cropped mask (here a mask smaller than its box)
    sample = make_sample(seg=False)
    sample['gt_masks'].masks[1, 10:40, 30:40] = 0
    monkeypatch.setattr(np.random, 'randint', FixedRandom([0, 0]))
    out = RandomCrop((48, 64), recompute_bbox=True)(sample)
    np.testing.assert_allclose(out['gt_bboxes'][1], [40, 10, 60, 40])


def test_min_iou_random_crop_worked_example(monkeypatch):
    # mode index 1 -> min IoU 0.05; patch w=60, h=40 at (2, 4): IoUs A 0.16, B 0.375, ignore 0.058
    monkeypatch.setattr(np.random, 'randint', FixedRandom([1]))
    monkeypatch.setattr(np.random, 'uniform', FixedRandom([60, 40, 2, 4]))
    out = MinIoURandomCrop(min_ious=(0.05,))(make_sample())
    assert out['img'].shape == (40, 60, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[2, 2, 18, 26], [28, 6, 58, 36]])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[38, 26, 48, 40]])
    assert_consistent(out)


def test_min_iou_random_crop_rejects_low_iou_and_keeps_centres(monkeypatch):
    # first patch [20, 4, 60, 44] misses A (IoU 0 < 0.05), the second is the one above
    monkeypatch.setattr(np.random, 'randint', FixedRandom([1]))
    monkeypatch.setattr(np.random, 'uniform', FixedRandom([40, 40, 20, 4, 60, 40, 2, 4]))
    out = MinIoURandomCrop(min_ious=(0.05,))(make_sample())
    assert out['img'].shape == (40, 60, 3)
    monkeypatch.undo()
    for seed in range(8):
        np.random.seed(seed)
        for polygons in (False, True):
            assert_consistent(MinIoURandomCrop()(make_sample(polygons)), atol=1.0)
        out = MinIoURandomCrop()(make_sample(empty=True))
        assert len(out['gt_bboxes']) == 0 and len(out['gt_masks']) == 0


@pytest.mark.parametrize('polygons', [False, True])
def test_expand_worked_example(monkeypatch, polygons):
    monkeypatch.setattr(np.random, 'uniform', FixedRandom([0.0, 2.0, 10.7, 5.2]))
    out = Expand(mean=(1, 2, 3), to_rgb=True, ratio_range=(1, 4), seg_ignore_label=255)(
        make_sample(polygons))
    assert out['img'].shape == (96, 128, 3)
    np.testing.assert_array_equal(out['img'][0, 0], [3, 2, 1])  # mean in BGR order
    np.testing.assert_allclose(out['gt_bboxes'], [[14, 11, 30, 35], [40, 15, 70, 45]])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[50, 35, 60, 49]])
    assert out['gt_semantic_seg'][0, 0] == 255 and out['gt_semantic_seg'][11, 14] == 1
    assert_consistent(out)
    monkeypatch.undo()
    with pytest.raises(ValueError, match='seg_ignore_label'):
        Expand(prob=1.0)(make_sample())
    empty = Expand(prob=1.0, seg_ignore_label=255)(make_sample(empty=True))
    assert len(empty['gt_bboxes']) == 0 and empty['gt_masks'].height == empty['img'].shape[0]


@pytest.mark.parametrize('polygons', [False, True])
def test_random_shift_worked_example(monkeypatch, polygons):
    monkeypatch.setattr(np.random, 'random', FixedRandom([0.0]))
    monkeypatch.setattr(np.random, 'randint', FixedRandom([-8, 5]))
    out = RandomShift(shift_ratio=0.5)(make_sample(polygons))
    np.testing.assert_allclose(out['gt_bboxes'], [[0, 11, 12, 35], [22, 15, 52, 45]])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[32, 35, 42, 48]])
    assert out['img'].shape == (H, W, 3) and out['gt_semantic_seg'][0, -1] == 255
    assert_consistent(out)


def test_random_shift_drops_shifted_out_box_and_skips_when_none_left(monkeypatch):
    monkeypatch.setattr(np.random, 'random', FixedRandom([0.0]))
    monkeypatch.setattr(np.random, 'randint', FixedRandom([-24, 0]))
    out = RandomShift()(make_sample())
    np.testing.assert_array_equal(out['gt_labels'], [1])
    assert len(out['gt_masks']) == 1
    assert_consistent(out)
    monkeypatch.undo()
    sample = make_sample(empty=True)
    monkeypatch.setattr(np.random, 'random', FixedRandom([0.0]))
    monkeypatch.setattr(np.random, 'randint', FixedRandom([5, 5]))
    out = RandomShift()(sample)
    assert out['img'][30, 40, 1] == 255  # left unshifted, as 2.x does without boxes


def test_random_center_crop_pad_train_worked_example(monkeypatch):
    # ratio 1.0, centre (40, 24): window x 24..56, y 8..40; A's centre is outside
    monkeypatch.setattr(np.random, 'randint', FixedRandom([0, 40, 24]))
    crop = RandomCenterCropPad(crop_size=(32, 32), ratios=(1.0,), border=16, mean=[1, 2, 3],
                               std=[1, 1, 1], to_rgb=True, test_pad_mode=None)
    out = crop(make_sample(masks=False, seg=False, float_img=True))
    assert out['img'].shape == (32, 32, 3) and out['pad_shape'] == (32, 32, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[6, 2, 32, 32]])
    np.testing.assert_array_equal(out['gt_labels'], [1])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[16, 22, 26, 32]])
    assert_consistent(out)
    monkeypatch.undo()
    assert RandomCenterCropPad._get_border(128, 512) == 128
    assert RandomCenterCropPad._get_border(128, 256) == 64  # 2 * 128 / 256 = 1 -> / 2
    with pytest.raises(ValueError, match='boxes only'):
        crop(make_sample(float_img=True))
    with pytest.raises(TypeError, match='float32'):
        crop(make_sample(masks=False, seg=False))


def test_random_center_crop_pad_test_mode_and_empty():
    pad = RandomCenterCropPad(crop_size=None, ratios=None, border=None, mean=[0, 0, 0],
                              std=[1, 1, 1], to_rgb=True, test_mode=True,
                              test_pad_mode=('logical_or', 127))
    out = pad(make_sample(float_img=True))
    assert out['img'].shape == (127, 127, 3) and out['img_shape'] == (H, W, 3)
    np.testing.assert_allclose(out['border'], [39, 87, 31, 95])
    divisor = RandomCenterCropPad(crop_size=None, ratios=None, border=None, mean=[0, 0, 0],
                                  std=[1, 1, 1], to_rgb=True, test_mode=True,
                                  test_pad_mode=('size_divisor', 32))
    assert divisor(make_sample(float_img=True))['img'].shape == (64, 64, 3)
    np.random.seed(0)
    train = RandomCenterCropPad(crop_size=(32, 32), mean=[0, 0, 0], std=[1, 1, 1],
                                to_rgb=False, test_pad_mode=None)
    out = train(make_sample(empty=True, masks=False, seg=False, float_img=True))
    assert out['gt_bboxes'].shape == (0, 4)


def test_seg_rescale_nearest():
    out = SegRescale(scale_factor=0.5)(make_sample())
    assert out['gt_semantic_seg'].shape == (24, 32)
    assert set(np.unique(out['gt_semantic_seg'])) == {0, 1, 2}
    assert SegRescale()(make_sample())['gt_semantic_seg'].shape == (H, W)


def test_filter_annotations():
    out = FilterAnnotations(min_gt_bbox_wh=(20, 20))(make_sample())
    np.testing.assert_array_equal(out['gt_labels'], [1])
    assert len(out['gt_masks']) == 1
    np.testing.assert_allclose(out['gt_bboxes'], [[30, 10, 60, 40]])
    out = FilterAnnotations(by_box=False, by_mask=True, min_gt_mask_area=500)(make_sample())
    np.testing.assert_array_equal(out['gt_labels'], [1])  # A has 384 pixels, B 900
    assert FilterAnnotations(min_gt_bbox_wh=(100, 100))(make_sample()) is None
    kept = FilterAnnotations(min_gt_bbox_wh=(100, 100), keep_empty=False)(make_sample())
    assert kept['gt_bboxes'].shape == (0, 4) and len(kept['gt_masks']) == 0
    assert len(FilterAnnotations()(make_sample(empty=True))['gt_bboxes']) == 0
    with pytest.raises(ValueError, match='by_box'):
        FilterAnnotations(by_box=False)


def test_ssd_train_pipeline_keeps_geometry_consistent():
    pipeline = Compose([
        dict(type='Expand', mean=(123.675, 116.28, 103.53), to_rgb=True, ratio_range=(1, 2),
             seg_ignore_label=255),
        dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5), min_crop_size=0.3),
        dict(type='Resize', img_scale=(40, 40), keep_ratio=False),
        dict(type='RandomFlip', flip_ratio=0.5),
        dict(type='PhotoMetricDistortion')])
    for seed in range(6):
        np.random.seed(seed)
        sample = make_sample()
        out = pipeline(sample)
        assert out['img'].shape == (40, 40, 3) and out['img'].dtype == np.float32
        assert len(out['gt_bboxes']) == len(out['gt_labels']) == len(out['gt_masks'])
        for box, mask in zip(out['gt_bboxes'], out['gt_masks'].to_ndarray()):
            np.testing.assert_allclose(box, box_of(mask), atol=1.5)

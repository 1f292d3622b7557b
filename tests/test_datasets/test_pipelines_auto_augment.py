"""AutoAugment and its policy transforms against worked examples."""
import mmcv
import numpy as np
import pytest

from mmdet_lite.datasets.pipelines import (AutoAugment, BrightnessTransform, ColorTransform,
                                           ContrastTransform, EqualizeTransform, Rotate, Shear,
                                           Translate)

from ._pipeline_samples import H, W, FixedRandom, assert_consistent, make_sample


@pytest.mark.parametrize('polygons', [False, True])
def test_translate_worked_example(polygons):
    # level 1 of 100 px -> 10 px to the right; B is clipped at the right border
    out = Translate(level=1, prob=1.0, max_translate_offset=100, random_negative_prob=0.0)(
        make_sample(polygons))
    np.testing.assert_allclose(out['gt_bboxes'], [[14, 6, 30, 30], [40, 10, 64, 40]])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[50, 30, 60, 44]])
    np.testing.assert_array_equal(out['img'][:, :10, 0], 128)  # img_fill_val
    assert out['gt_semantic_seg'][0, 0] == 255
    assert_consistent(out)
    up = Translate(level=1, prob=1.0, direction='vertical', max_translate_offset=100,
                   random_negative_prob=1.0)(make_sample(polygons))
    np.testing.assert_allclose(up['gt_bboxes'], [[4, 0, 20, 20], [30, 0, 60, 30]])
    assert_consistent(up)


def test_translate_out_of_image_drops_everything_and_empty_survives():
    out = Translate(level=10, prob=1.0, max_translate_offset=100, random_negative_prob=0.0)(
        make_sample())
    assert out['gt_bboxes'].shape == (0, 4) and out['gt_bboxes_ignore'].shape == (0, 4)
    assert len(out['gt_labels']) == 0 and len(out['gt_masks']) == 0
    empty = Translate(level=3, prob=1.0)(make_sample(empty=True))
    assert len(empty['gt_bboxes']) == 0 and empty['gt_masks'].to_ndarray().shape == (0, H, W)


@pytest.mark.parametrize('polygons', [False, True])
def test_rotate_90_degrees_worked_example(polygons):
    # clockwise 90 deg about (31.5, 23.5): (x, y) -> (31.5 - (y - 23.5), 23.5 + (x - 31.5))
    out = Rotate(level=10, prob=1.0, max_rotate_angle=90, random_negative_prob=0.0)(
        make_sample(polygons))
    np.testing.assert_allclose(out['gt_bboxes'], [[25, 0, 49, 12], [15, 22, 45, 48]])
    np.testing.assert_allclose(out['gt_bboxes_ignore'], [[11, 32, 25, 42]])
    assert out['img'].shape == (H, W, 3)
    assert_consistent(out, atol=1.5)
    assert set(np.unique(out['gt_semantic_seg'])) <= {0, 1, 2, 255}  # nearest: no new labels


@pytest.mark.parametrize('polygons', [False, True])
def test_shear_worked_example(polygons):
    # magnitude 0.1, horizontal: x' = x + 0.1 y
    out = Shear(level=5, prob=1.0, max_shear_magnitude=0.2, random_negative_prob=0.0)(
        make_sample(polygons))
    np.testing.assert_allclose(out['gt_bboxes'], [[4.6, 6, 23, 30], [31, 10, 64, 40]],
                               atol=1e-5)
    assert_consistent(out, atol=1.5)
    vertical = Shear(level=5, prob=1.0, direction='vertical', max_shear_magnitude=0.2,
                     random_negative_prob=1.0)(make_sample(polygons))
    # y' = y - 0.1 x
    np.testing.assert_allclose(vertical['gt_bboxes'], [[4, 4, 20, 29.6], [30, 4, 60, 37]],
                               atol=1e-5)
    assert_consistent(vertical, atol=1.5)
    empty = Shear(level=5, prob=1.0)(make_sample(empty=True))
    assert len(empty['gt_bboxes']) == 0


def test_policy_transforms_check_arguments():
    with pytest.raises(ValueError, match='level'):
        Rotate(level=11)
    with pytest.raises(ValueError, match='direction'):
        Shear(level=1, direction='diagonal')
    with pytest.raises(ValueError, match='img_fill_val'):
        Translate(level=1, img_fill_val=(1, 2))
    with pytest.raises(ValueError, match='prob'):
        ColorTransform(level=1, prob=2)
    assert Rotate(level=1, prob=0.0)(make_sample())['gt_bboxes'].tolist() == \
        make_sample()['gt_bboxes'].tolist()


def test_enhance_transforms_use_level_factor():
    img = np.full((4, 4, 3), 100, np.uint8)
    img[0, 0] = 250
    # factor = level / 10 * 1.8 + 0.1: level 5 -> 1.0 (identity), level 10 -> 1.9
    for cls in (ColorTransform, BrightnessTransform, ContrastTransform):
        same = cls(level=5, prob=1.0)(dict(img=img.copy(), img_fields=['img']))['img']
        np.testing.assert_array_equal(same, img)
    bright = BrightnessTransform(level=10, prob=1.0)(dict(img=img.copy()))['img']
    assert bright[1, 1, 0] == 190 and bright[0, 0, 0] == 255
    contrast = ContrastTransform(level=10, prob=1.0)(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(contrast, mmcv.adjust_contrast(img, 1.9))
    eq = EqualizeTransform(prob=1.0)(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(eq, mmcv.imequalize(img))
    untouched = EqualizeTransform(prob=0.0)(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(untouched, img)


def test_auto_augment_applies_one_policy(monkeypatch):
    policies = [[dict(type='Translate', level=1, prob=1.0, max_translate_offset=100,
                      random_negative_prob=0.0)],
                [dict(type='Resize', img_scale=(32, 24), keep_ratio=False),
                 dict(type='RandomCrop', crop_type='absolute', crop_size=(24, 32))]]
    aug = AutoAugment(policies)
    monkeypatch.setattr(np.random, 'randint', FixedRandom([0]))
    np.testing.assert_allclose(aug(make_sample())['gt_bboxes'][0], [14, 6, 30, 30])
    monkeypatch.setattr(np.random, 'randint', FixedRandom([1, 0, 0]))
    out = aug(make_sample())
    assert out['img'].shape == (24, 32, 3)
    np.testing.assert_allclose(out['gt_bboxes'], [[2, 3, 10, 15], [15, 5, 30, 20]])
    with pytest.raises(ValueError, match='non-empty'):
        AutoAugment([])
    with pytest.raises(ValueError, match='"type"'):
        AutoAugment([[dict(level=1)]])

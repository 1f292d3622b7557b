"""Pipeline transforms on synthetic images: boxes and masks follow the pixels."""
import numpy as np
import pytest
import torch

from mmdet_lite.core import BitmapMasks, PolygonMasks
from mmdet_lite.datasets.pipelines import (Collect, Compose, DefaultFormatBundle, ImageToTensor,
                                           MultiScaleFlipAug, Normalize, Pad,
                                           PhotoMetricDistortion, RandomFlip, Resize)

H, W = 64, 96
BOXES = np.array([[10, 8, 30, 40], [50, 20, 90, 60]], dtype=np.float32)


def make_results(with_polygons=False, empty=False):
    """An image whose object pixels (value 255 in channel 0) equal the masks and boxes."""
    img = np.zeros((H, W, 3), dtype=np.uint8)
    boxes = np.zeros((0, 4), np.float32) if empty else BOXES.copy()
    masks = np.zeros((len(boxes), H, W), np.uint8)
    polys = []
    for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
        masks[i, y1:y2, x1:x2] = 1
        img[y1:y2, x1:x2, 0] = 255
        polys.append([np.array([x1, y1, x2, y1, x2, y2, x1, y2], np.float64)])
    gt_masks = PolygonMasks(polys, H, W) if with_polygons else BitmapMasks(masks, H, W)
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=['img'],
                filename='x.png', ori_filename='x.png',
                gt_bboxes=boxes, gt_labels=np.arange(len(boxes), dtype=np.int64),
                gt_masks=gt_masks, bbox_fields=['gt_bboxes'], mask_fields=['gt_masks'],
                seg_fields=[])


def box_of(mask):
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def assert_consistent(results, atol=1.0):
    """Masks cover the image's object pixels; boxes enclose the masks."""
    img = results['img']
    masks = results['gt_masks'].to_ndarray()
    assert masks.shape[1:] == img.shape[:2]
    fg = img[..., 0] > 127
    union = masks.any(0)
    assert (union != fg).mean() < 0.02  # interpolation at the edges only
    for box, mask in zip(results['gt_bboxes'], masks):
        np.testing.assert_allclose(box, box_of(mask), atol=atol)


@pytest.mark.parametrize('keep_ratio', [True, False])
@pytest.mark.parametrize('polygons', [False, True])
def test_resize_keeps_boxes_masks_and_pixels_together(keep_ratio, polygons):
    results = Resize(img_scale=(192, 100), keep_ratio=keep_ratio)(make_results(polygons))
    if keep_ratio:
        # long edge <= 192, short edge <= 100: factor min(192/96, 100/64) = 1.5625
        assert results['img_shape'] == (100, 150, 3)
        np.testing.assert_allclose(results['scale_factor'], [150 / 96, 100 / 64] * 2)
    else:
        assert results['img_shape'] == (100, 192, 3)
        np.testing.assert_allclose(results['scale_factor'], [2.0, 100 / 64] * 2)
    assert results['pad_shape'] == results['img_shape']
    assert results['scale_factor'].dtype == np.float32
    np.testing.assert_allclose(results['gt_bboxes'], BOXES * results['scale_factor'], atol=1e-4)
    assert_consistent(results, atol=1.5)


def test_resize_scale_modes_and_ratio_range():
    np.random.seed(0)
    for _ in range(5):
        r = Resize(img_scale=[(96, 64), (192, 128)], multiscale_mode='range')(make_results())
        assert 64 <= r['img_shape'][0] <= 128
    r = Resize(img_scale=[(48, 32), (192, 128)], multiscale_mode='value')(make_results())
    assert r['img_shape'][:2] in [(32, 48), (128, 192)]
    r = Resize(img_scale=(96, 64), ratio_range=(2.0, 2.0))(make_results())
    assert r['img_shape'][:2] == (128, 192)
    with pytest.raises(ValueError, match='multiscale_mode'):
        Resize(img_scale=(96, 64), multiscale_mode='bad')


def test_resize_clips_boxes_to_border():
    results = make_results()
    results['gt_bboxes'] = np.array([[-5, -5, 120, 70]], np.float32)
    results['gt_masks'] = results['gt_masks'][[0]]
    results['gt_labels'] = results['gt_labels'][:1]
    out = Resize(img_scale=(96, 64), keep_ratio=True)(results)
    np.testing.assert_allclose(out['gt_bboxes'], [[0, 0, 96, 64]])


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
@pytest.mark.parametrize('polygons', [False, True])
def test_flip_moves_boxes_and_masks_with_pixels(direction, polygons):
    results = RandomFlip(flip_ratio=1.0, direction=direction)(make_results(polygons))
    assert results['flip'] and results['flip_direction'] == direction
    assert_consistent(results, atol=0)
    # flipping twice restores the boxes
    again = RandomFlip(flip_ratio=1.0, direction=direction)(
        {**results, 'flip': True, 'flip_direction': direction})
    np.testing.assert_allclose(again['gt_bboxes'], BOXES)


def test_flip_ratio_zero_and_list():
    r = RandomFlip(flip_ratio=0.0)(make_results())
    assert r['flip'] is False and r['flip_direction'] is None
    np.testing.assert_array_equal(r['gt_bboxes'], BOXES)
    np.random.seed(1)
    seen = {RandomFlip(flip_ratio=[0.5, 0.5], direction=['horizontal', 'vertical'])(
        make_results())['flip_direction'] for _ in range(20)}
    assert seen == {'horizontal', 'vertical'}
    with pytest.raises(ValueError):
        RandomFlip(flip_ratio=1.5)


@pytest.mark.parametrize('polygons', [False, True])
def test_pad_size_divisor_and_size(polygons):
    results = Pad(size_divisor=32)(make_results(polygons))
    assert results['pad_shape'] == (64, 96, 3) and results['img_shape'] == (64, 96, 3)
    results = Pad(size_divisor=40)(make_results(polygons))
    assert results['pad_shape'] == (80, 120, 3)
    assert results['gt_masks'].to_ndarray().shape == (2, 80, 120)
    assert results['img'][64:].sum() == 0 and results['img'][:, 96:].sum() == 0
    assert_consistent(results, atol=0)
    results = Pad(size=(70, 100), pad_val=7)(make_results(polygons))
    assert results['img'].shape == (70, 100, 3) and results['img'][69, 99, 0] == 7
    with pytest.raises(ValueError, match='exactly one'):
        Pad()


def test_normalize_and_photometric():
    results = make_results()
    out = Normalize(mean=[1, 2, 3], std=[2, 2, 2], to_rgb=True)(dict(results))
    expected = (results['img'][..., ::-1].astype(np.float32) - [1, 2, 3]) / 2
    np.testing.assert_allclose(out['img'], expected, atol=1e-5)
    assert out['img_norm_cfg']['to_rgb'] is True
    np.random.seed(0)
    float_res = make_results()
    float_res['img'] = float_res['img'].astype(np.float32)
    out = PhotoMetricDistortion()(float_res)
    assert out['img'].dtype == np.float32 and out['img'].shape == (H, W, 3)
    # a uint8 image is converted, as 2.x does (the SSD configs load uint8 images)
    assert PhotoMetricDistortion()(make_results())['img'].dtype == np.float32


def test_full_train_pipeline_format_and_collect():
    pipeline = Compose([
        dict(type='Resize', img_scale=(192, 128), keep_ratio=True),
        dict(type='RandomFlip', flip_ratio=1.0),
        dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False),
        dict(type='Pad', size_divisor=32),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks']),
    ])
    results = make_results()
    results['img_id'] = 7
    data = pipeline(results)
    assert set(data) == {'img', 'img_metas', 'gt_bboxes', 'gt_labels', 'gt_masks'}
    assert data['img'].dtype == torch.float32 and data['img'].shape == (3, 128, 192)
    assert data['gt_bboxes'].dtype == torch.float32 and data['gt_labels'].dtype == torch.int64
    assert isinstance(data['gt_masks'], BitmapMasks)
    metas = data['img_metas']
    assert metas['img_id'] == 7 and metas['flip'] is True
    assert metas['img_shape'] == (128, 192, 3) and metas['pad_shape'] == (128, 192, 3)
    # the image pixels, boxes and masks still agree after resize + flip + pad
    img = data['img'].permute(1, 2, 0).numpy()
    for box, mask in zip(data['gt_bboxes'].numpy(), data['gt_masks'].masks):
        np.testing.assert_allclose(box, box_of(mask), atol=1.0)
        assert img[mask.astype(bool), 0].mean() > 200


def test_empty_gt_passes_through():
    pipeline = Compose([
        dict(type='Resize', img_scale=(192, 128), keep_ratio=True),
        dict(type='RandomFlip', flip_ratio=1.0, direction='diagonal'),
        dict(type='Pad', size_divisor=32),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks']),
    ])
    for polygons in (False, True):
        data = pipeline(make_results(polygons, empty=True))
        assert data['gt_bboxes'].shape == (0, 4) and data['gt_labels'].shape == (0,)
        assert data['gt_masks'].to_ndarray().shape == (0, 128, 192)


def test_multiscale_flip_aug_lists_over_augmentations():
    aug = MultiScaleFlipAug(
        img_scale=[(96, 64), (192, 128)], flip=True,
        transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                    dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False),
                    dict(type='Pad', size_divisor=32), dict(type='ImageToTensor', keys=['img']),
                    dict(type='Collect', keys=['img'])])
    results = make_results()
    data = aug({k: results[k] for k in ('img', 'img_shape', 'ori_shape', 'img_fields',
                                        'filename', 'ori_filename')})
    assert len(data['img']) == 4 and len(data['img_metas']) == 4
    assert [m['flip'] for m in data['img_metas']] == [False, True, False, True]
    assert data['img'][2].shape == (3, 128, 192) and data['img'][0].dtype == torch.float32
    flipped = data['img'][1].numpy()
    np.testing.assert_array_equal(flipped, data['img'][0].numpy()[..., ::-1])


def test_collect_missing_key_is_named():
    with pytest.raises(KeyError, match='pad_shape'):
        Collect(keys=['img'])(make_results())
    assert ImageToTensor()(make_results())['img'].shape == (3, H, W)
    assert DefaultFormatBundle()(make_results())['img'].shape == (3, H, W)

"""MultiImageMixDataset (YOLOX pipeline on generated data) and ClassBalancedDataset."""
import math

import numpy as np
import pytest
import torch

from mmdet_lite.datasets import (ClassBalancedDataset, MultiImageMixDataset, build_dataset,
                                 mmdet_collate)
from mmdet_lite.registry import DATASETS


@DATASETS.register_module(force=True)
class _CatsDataset:
    """Images whose categories are ``cats[i]``; items are their index."""

    CLASSES = ('a', 'b', 'c')

    def __init__(self, cats):
        self.cats = cats
        self.flag = np.arange(len(cats), dtype=np.uint8) % 2

    def __len__(self) -> int:
        return len(self.cats)

    def __getitem__(self, idx: int) -> int:
        return idx

    def get_cat_ids(self, idx: int) -> list:
        return list(self.cats[idx])


def test_class_balanced_repeat_factors_by_hand():
    # 4 images: f(a) = 3/4, f(b) = 1/4, f(c) = 1/4 (image 3 has no boxes)
    cats = [[0], [0, 1], [0], []]
    # t = 0.5: r(a) = 1, r(b) = sqrt(0.5 / 0.25) = 1.414 -> image 1 appears ceil(1.414) = 2 times
    ds = build_dataset(dict(type='ClassBalancedDataset', oversample_thr=0.5,
                            dataset=dict(type='_CatsDataset', cats=cats)))
    assert isinstance(ds, ClassBalancedDataset)
    np.testing.assert_allclose(ds._get_repeat_factors(ds.dataset, 0.5),
                               [1, math.sqrt(2), 1, 1])
    assert [ds[i] for i in range(len(ds))] == [0, 1, 1, 2, 3]
    np.testing.assert_array_equal(ds.flag, [0, 1, 1, 0, 1])
    assert ds.CLASSES == ('a', 'b', 'c') and ds.get_cat_ids(2) == [0, 1]
    # empty images as a background category: f(bg) = 1/4 -> r = sqrt(2)
    bg = ClassBalancedDataset(ds.dataset, oversample_thr=0.5, filter_empty_gt=False)
    assert [bg[i] for i in range(len(bg))] == [0, 1, 1, 2, 3, 3]


YOLOX_PIPELINE = [
    dict(type='Mosaic', img_scale=(32, 32), pad_val=114.0),
    dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5), border=(-16, -16)),
    dict(type='MixUp', img_scale=(32, 32), ratio_range=(0.8, 1.6), pad_val=114.0),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Resize', img_scale=(32, 32), keep_ratio=True),
    dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]


def test_multi_image_mix_dataset_runs_the_yolox_pipeline(tmp_path):
    inner = dict(type='ShapesDataset', data_root=str(tmp_path / 'shapes'),
                 ann_file='annotations/instances_train.json', num_train=6, num_val=1,
                 img_size=32, pipeline=[dict(type='LoadImageFromFile'),
                                        dict(type='LoadAnnotations', with_bbox=True)],
                 filter_empty_gt=False)
    ds = build_dataset(dict(type='MultiImageMixDataset', dataset=inner,
                            pipeline=YOLOX_PIPELINE))
    assert isinstance(ds, MultiImageMixDataset) and len(ds) == 6
    assert ds.CLASSES == ds.dataset.CLASSES and len(ds.flag) == 6
    np.random.seed(0)
    samples = [ds[i] for i in range(len(ds))]
    for s in samples:
        assert s['img'].shape == (3, 32, 32) and 'mix_results' not in s
        boxes = s['gt_bboxes']
        assert len(boxes) == len(s['gt_labels'])
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert (boxes >= 0).all() and (boxes <= 32).all()
        assert set(s['gt_labels'].tolist()) <= set(range(len(ds.CLASSES)))
    batch = mmdet_collate(samples[:2])
    assert batch['img'].shape == (2, 3, 32, 32) and isinstance(batch['gt_bboxes'][0], torch.Tensor)
    # the mode switch of YOLOX: no more Mosaic / MixUp (/ RandomAffine): plain resized images
    ds.update_skip_type_keys(['Mosaic', 'RandomAffine', 'MixUp'])
    plain = ds[0]
    loaded = ds.dataset[0]
    assert len(plain['gt_bboxes']) == len(loaded['gt_bboxes'])


@DATASETS.register_module(force=True)
class _BoxDataset:
    """Sample i: a 16x16 uint8 image with one box [2, 2, 10, 10] labelled i."""

    CLASSES = ('a', 'b', 'c', 'd')

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        img = np.full((16, 16, 3), 10 * idx, np.uint8)
        return dict(img=img, img_shape=img.shape, img_fields=['img'],
                    gt_bboxes=np.array([[2, 2, 10, 10]], np.float32),
                    gt_labels=np.array([idx]), bbox_fields=['gt_bboxes'])

    def get_ann_info(self, idx: int) -> dict:
        return dict(bboxes=np.array([[2, 2, 10, 10]], np.float32), labels=np.array([idx]))


def test_multi_image_mix_dataset_feeds_mix_results(monkeypatch):
    ds = MultiImageMixDataset(_BoxDataset(), pipeline=[
        dict(type='Mosaic', img_scale=(16, 16), center_ratio_range=(1.0, 1.0))])
    draws = iter([1, 2, 3])  # Mosaic.get_indexes: the three other quadrants
    monkeypatch.setattr(np.random, 'randint', lambda *a, **k: next(draws))
    out = ds[0]
    assert out['img'].shape == (32, 32, 3)
    np.testing.assert_array_equal(out['gt_labels'], [0, 1, 2, 3])
    np.testing.assert_allclose(out['gt_bboxes'], [[2, 2, 10, 10], [18, 2, 26, 10],
                                                  [2, 18, 10, 26], [18, 18, 26, 26]])
    with pytest.raises(ValueError, match='dynamic_scale'):
        MultiImageMixDataset(_BoxDataset(), pipeline=[], dynamic_scale=(32, 32))
    with pytest.raises(TypeError, match='built datasets'):
        MultiImageMixDataset(dict(type='_BoxDataset'), pipeline=[])

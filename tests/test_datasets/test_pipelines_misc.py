"""LoadPanopticAnnotations, ToDataContainer, CutOut, Albu and InstaBoost."""
import mmcv
import numpy as np
import pytest

from mmdet_lite.datasets.pipelines import (Albu, Compose, CutOut, InstaBoost,
                                           LoadPanopticAnnotations, MultiScaleFlipAug,
                                           ToDataContainer)
from mmdet_lite.datasets.pipelines import albu as albu_module
from mmdet_lite.datasets.pipelines.panoptic_loading import rgb2id

from ._pipeline_samples import H, W, FixedRandom, assert_consistent, box_of, make_sample


def test_load_panoptic_annotations(tmp_path):
    # segment 1 (a thing, category 0) in A, segment 300 = 44 + 256 * 1 (stuff, category 5) in B
    ids = np.zeros((H, W), np.int64)
    ids[6:30, 4:20] = 1
    ids[10:40, 30:60] = 300
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    mmcv.imwrite(rgb[..., ::-1], str(tmp_path / 'pan.png'))  # imwrite takes BGR
    np.testing.assert_array_equal(rgb2id(rgb), ids)
    results = dict(img_info=dict(height=H, width=W), seg_prefix=str(tmp_path),
                   ann_info=dict(bboxes=np.array([[4, 6, 20, 30]], np.float32),
                                 labels=np.array([0]), seg_map='pan.png',
                                 masks=[dict(id=1, category=0, is_thing=True),
                                        dict(id=300, category=5, is_thing=False)]),
                   bbox_fields=[], mask_fields=[], seg_fields=[])
    out = LoadPanopticAnnotations()(results)
    np.testing.assert_allclose(out['gt_bboxes'], [[4, 6, 20, 30]])
    np.testing.assert_array_equal(out['gt_labels'], [0])
    assert len(out['gt_masks']) == 1
    np.testing.assert_allclose(box_of(out['gt_masks'].masks[0]), [4, 6, 20, 30])
    seg = out['gt_semantic_seg']
    assert seg[10, 10] == 0 and seg[20, 40] == 5 and seg[0, 0] == 255
    assert out['seg_fields'] == ['gt_semantic_seg'] and out['mask_fields'] == ['gt_masks']


def test_to_data_container_is_a_no_op_inside_multi_scale_flip_aug():
    sample = make_sample()
    assert ToDataContainer()(sample) is sample
    with pytest.raises(ValueError, match='stack=True'):
        ToDataContainer(fields=[dict(key='proposals', stack=True)])
    with pytest.raises(ValueError, match='"key"'):
        ToDataContainer(fields=[dict(stack=False)])
    # the Fast R-CNN test pipeline of 2.x
    aug = MultiScaleFlipAug(img_scale=(64, 48), flip=False, transforms=[
        dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
        dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1]),
        dict(type='ImageToTensor', keys=['img']), dict(type='ToTensor', keys=['proposals']),
        dict(type='ToDataContainer', fields=[dict(key='proposals', stack=False)]),
        dict(type='Collect', keys=['img', 'proposals'])])
    out = aug(dict(make_sample(), proposals=np.array([[1, 2, 3, 4]], np.float32)))
    assert out['img'][0].shape == (3, H, W) and out['proposals'][0].shape == (1, 4)


def test_cutout_worked_example(monkeypatch):
    # one hole at (x, y) = (2, 3) of (w, h) = (5, 4)
    monkeypatch.setattr(np.random, 'randint', FixedRandom([1, 2, 3, 0]))
    img = np.ones((10, 10, 3), np.uint8)
    out = CutOut(n_holes=1, cutout_shape=(5, 4), fill_in=(7, 8, 9))(dict(img=img))['img']
    assert (out[3:7, 2:7] == [7, 8, 9]).all() and (out[:3] == 1).all() and (out[:, 7:] == 1).all()
    monkeypatch.setattr(np.random, 'randint', FixedRandom([1, 8, 8, 0]))
    out = CutOut(n_holes=(0, 2), cutout_ratio=[(0.5, 0.5)])(dict(img=np.ones((10, 10, 3))))
    assert (out['img'][8:, 8:] == 0).all() and out['img'][7, 7, 0] == 1  # clipped at the edge
    with pytest.raises(ValueError, match='exactly one'):
        CutOut(n_holes=1)


def test_albu_flips_boxes_masks_and_filters_lost_boxes():
    flip = Albu(transforms=[dict(type='HorizontalFlip', p=1.0)],
                bbox_params=dict(type='BboxParams', format='pascal_voc',
                                 label_fields=['gt_labels'], filter_lost_elements=True),
                keymap=dict(img='image', gt_masks='masks', gt_bboxes='bboxes'))
    out = flip(make_sample(seg=False))
    np.testing.assert_allclose(out['gt_bboxes'], [[44, 6, 60, 30], [4, 10, 34, 40]])
    np.testing.assert_array_equal(out['gt_labels'], [0, 1])
    assert_consistent({k: v for k, v in out.items() if k != 'gt_bboxes_ignore'})
    # a crop that cuts A away: its label and mask go with it; nothing left -> skipped
    crop = Albu(transforms=[dict(type='Crop', x_min=24, y_min=0, x_max=64, y_max=48)],
                bbox_params=dict(type='BboxParams', format='pascal_voc',
                                 label_fields=['gt_labels'], filter_lost_elements=True),
                skip_img_without_anno=True, update_pad_shape=True)
    out = crop(make_sample(seg=False))
    np.testing.assert_allclose(out['gt_bboxes'], [[6, 10, 36, 40]])
    np.testing.assert_array_equal(out['gt_labels'], [1])
    assert len(out['gt_masks']) == 1 and out['pad_shape'] == (48, 40, 3)
    assert crop(make_sample(empty=True, seg=False)) is None


def test_albu_renamed_transform_and_missing_package(monkeypatch):
    # 2.x's JpegCompression(quality_lower, quality_upper) became ImageCompression(quality_range)
    built = albu_module.albu_builder(dict(type='JpegCompression', quality_lower=85,
                                          quality_upper=95, p=0.2))
    assert type(built).__name__ in ('JpegCompression', 'ImageCompression')
    with pytest.raises(KeyError, match='NoSuchTransform'):
        albu_module.albu_builder(dict(type='NoSuchTransform'))
    monkeypatch.setattr(albu_module, 'albumentations', None)
    with pytest.raises(ImportError, match=r'mmdet_lite\[albu\]'):
        Albu(transforms=[])


def test_instaboost_is_refused_with_the_reason():
    with pytest.raises(NotImplementedError, match='instaboostfast'):
        InstaBoost()
    with pytest.raises(NotImplementedError, match='InstaBoost'):
        Compose([dict(type='InstaBoost', action_candidate=('normal', 'horizontal', 'skip'),
                      action_prob=(1, 0, 0), scale=(0.8, 1.2), dx=15, dy=15, theta=(-1, 1),
                      color_prob=0.5, hflag=False, aug_ratio=0.5)])

"""CocoDataset: loading, classes subset, crowd/tiny boxes, masks, bad input."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mmdet_lite.core import BitmapMasks, PolygonMasks
from mmdet_lite.datasets import CocoDataset, build_dataset
from mmdet_lite.datasets.utils import check_num_classes

PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks'])]


def write_coco(root, images=None, annotations=None, categories=None, write_images=True):
    images = images if images is not None else [
        dict(id=1, file_name='a.png', width=64, height=48),
        dict(id=2, file_name='b.png', width=64, height=48),
        dict(id=3, file_name='c.png', width=64, height=48)]
    rle = dict(size=[48, 64], counts=None)
    m = np.zeros((48, 64), np.uint8)
    m[20:30, 40:60] = 1
    import pycocotools.mask as mu
    rle['counts'] = mu.encode(np.asfortranarray(m))['counts'].decode()
    annotations = annotations if annotations is not None else [
        dict(id=1, image_id=1, category_id=1, bbox=[4, 5, 10, 20], area=200, iscrowd=0,
             segmentation=[[4, 5, 14, 5, 14, 25, 4, 25]]),
        dict(id=2, image_id=1, category_id=3, bbox=[40, 20, 20, 10], area=200, iscrowd=0,
             segmentation=rle),
        dict(id=3, image_id=1, category_id=1, bbox=[0, 0, 30, 30], area=900, iscrowd=1,
             segmentation=rle),
        dict(id=4, image_id=2, category_id=2, bbox=[10, 10, 0.5, 8], area=4, iscrowd=0,
             segmentation=[[10, 10, 10.5, 10, 10.5, 18]]),
        dict(id=5, image_id=2, category_id=2, bbox=[1, 1, 20, 20], area=400, iscrowd=0,
             segmentation=[[1, 1, 21, 1, 21, 21, 1, 21]])]
    categories = categories if categories is not None else [
        dict(id=1, name='cat'), dict(id=2, name='dog'), dict(id=3, name='bird')]
    if write_images:
        for img in images:
            cv2.imwrite(osp.join(root, img['file_name']), np.full((48, 64, 3), 90, np.uint8))
    path = osp.join(root, 'ann.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return path


def make(root, **kwargs):
    cfg = dict(type='CocoDataset', ann_file='ann.json', data_root=str(root), img_prefix='',
               classes=('cat', 'dog', 'bird'), pipeline=PIPELINE)
    cfg.update(kwargs)
    return build_dataset(cfg)


def test_parse_crowd_tiny_and_masks(tmp_path):
    write_coco(str(tmp_path))
    ds = make(tmp_path)
    assert len(ds) == 2  # image 3 has no GT
    assert ds.metainfo == dict(classes=('cat', 'dog', 'bird'))
    assert ds.cat2label == {1: 0, 2: 1, 3: 2}
    ann = ds.get_ann_info(0)
    np.testing.assert_allclose(ann['bboxes'], [[4, 5, 14, 25], [40, 20, 60, 30]])
    np.testing.assert_array_equal(ann['labels'], [0, 2])
    np.testing.assert_allclose(ann['bboxes_ignore'], [[0, 0, 30, 30]])
    # the 0.5 px wide box is dropped
    np.testing.assert_allclose(ds.get_ann_info(1)['bboxes'], [[1, 1, 21, 21]])
    data = ds[0]
    assert data['img_metas']['img_id'] == 1 and data['img'].shape == (3, 48, 64)
    masks = data['gt_masks']
    assert isinstance(masks, BitmapMasks)
    assert masks.masks[0][5:25, 4:14].all() and masks.masks[0].sum() == 200
    assert masks.masks[1][20:30, 40:60].all() and masks.masks[1].sum() == 200
    assert set(np.unique(ds.flag)) == {1}


def test_tiny_boxes_counted_in_one_log_message(tmp_path, monkeypatch):
    import mmdet_lite.datasets.coco as coco_module
    messages = []
    monkeypatch.setattr(coco_module, 'print_log', lambda msg, **kw: messages.append(msg))
    write_coco(str(tmp_path))
    make(tmp_path)
    lines = [m for m in messages if 'narrower' in m]
    assert len(lines) == 1 and '1 of 5 boxes' in lines[0]
    assert 'annotation ids [4]' in lines[0]


def test_polygon_masks_without_poly2mask(tmp_path):
    write_coco(str(tmp_path), annotations=[
        dict(id=1, image_id=1, category_id=1, bbox=[4, 5, 10, 20], area=200, iscrowd=0,
             segmentation=[[4, 5, 14, 5, 14, 25, 4, 25]])])
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
                dict(type='Resize', img_scale=(128, 96), keep_ratio=True),
                dict(type='DefaultFormatBundle'),
                dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks'])]
    data = make(tmp_path, pipeline=pipeline)[0]
    assert isinstance(data['gt_masks'], PolygonMasks)
    bitmap = data['gt_masks'].to_ndarray()[0]
    assert bitmap[10:50, 8:28].all() and bitmap.sum() == 800


def test_classes_subset_and_order(tmp_path):
    write_coco(str(tmp_path))
    ds = make(tmp_path, classes=('bird', 'cat'))
    assert ds.cat_ids == [3, 1] and ds.cat2label == {3: 0, 1: 1}
    assert len(ds) == 1  # image 2 only holds dogs
    np.testing.assert_array_equal(ds.get_ann_info(0)['labels'], [1, 0])
    classes_file = tmp_path / 'classes.txt'
    classes_file.write_text('dog\ncat\n')
    assert make(tmp_path, classes=str(classes_file)).CLASSES == ['dog', 'cat']  # a list, as 2.x


def test_test_mode_keeps_all_images_and_has_no_gt(tmp_path):
    write_coco(str(tmp_path))
    ds = make(tmp_path, test_mode=True,
              pipeline=[dict(type='LoadImageFromFile'), dict(type='DefaultFormatBundle'),
                        dict(type='Collect', keys=['img'])])
    assert len(ds) == 3 and ds.img_ids == [1, 2, 3]
    assert set(ds[2]) == {'img', 'img_metas'}


def test_filter_empty_gt_false_retries_nothing(tmp_path):
    write_coco(str(tmp_path))
    ds = make(tmp_path, filter_empty_gt=False)
    assert len(ds) == 3


# ---------------------------------------------------------------- bad input
def test_missing_image_names_file_and_entry(tmp_path):
    write_coco(str(tmp_path))
    (tmp_path / 'a.png').unlink()
    ds = make(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        ds[0]
    msg = str(e.value)
    assert 'a.png' in msg and 'id=1' in msg and 'ann.json' in msg


@pytest.mark.parametrize('content', [b'', b'not an image at all', 'truncated'])
def test_unreadable_or_truncated_image(tmp_path, content):
    write_coco(str(tmp_path))
    if content == 'truncated':
        ok, buf = cv2.imencode('.png', np.random.randint(0, 255, (48, 64, 3), np.uint8))
        content = buf.tobytes()[:len(buf) // 2]
    (tmp_path / 'a.png').write_bytes(content)
    ds = make(tmp_path)
    with pytest.raises(ValueError) as e:
        ds[0]
    assert 'a.png' in str(e.value) and 'id=1' in str(e.value)
    assert 'unreadable or truncated' in str(e.value)


def test_truncated_jpeg(tmp_path):
    write_coco(str(tmp_path), images=[dict(id=1, file_name='a.jpg', width=64, height=48)],
               annotations=[dict(id=1, image_id=1, category_id=1, bbox=[4, 5, 10, 20],
                                 area=200, iscrowd=0, segmentation=[[4, 5, 14, 5, 14, 25]])])
    ok, buf = cv2.imencode('.jpg', np.random.randint(0, 255, (48, 64, 3), np.uint8))
    (tmp_path / 'a.jpg').write_bytes(buf.tobytes()[:-40])
    with pytest.raises(ValueError, match='truncated'):
        make(tmp_path)[0]


def test_annotation_file_not_json(tmp_path):
    (tmp_path / 'ann.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='not valid JSON'):
        make(tmp_path)


@pytest.mark.parametrize('missing', ['images', 'annotations', 'categories'])
def test_annotation_file_lacks_key(tmp_path, missing):
    path = write_coco(str(tmp_path), write_images=False)
    data = json.load(open(path))
    data.pop(missing)
    json.dump(data, open(path, 'w'))
    with pytest.raises(ValueError, match=f"lacks the key.*'{missing}'"):
        make(tmp_path)


def test_unknown_category_id_lists_known_ids(tmp_path):
    write_coco(str(tmp_path), write_images=False, annotations=[
        dict(id=9, image_id=1, category_id=42, bbox=[1, 1, 5, 5], area=25, iscrowd=0)])
    with pytest.raises(ValueError, match=r'category_id=42.*known category ids: \[1, 2, 3\]'):
        make(tmp_path)


def test_classes_not_in_file_and_no_silent_coco_fallback(tmp_path):
    write_coco(str(tmp_path), write_images=False)
    with pytest.raises(ValueError, match="'horse'"):
        make(tmp_path, classes=('cat', 'horse'))
    with pytest.raises(ValueError, match=r"COCO's 80 classes.*set classes=\(\.\.\.\).*3: 'bird'"):
        make(tmp_path, classes=None)


def test_check_num_classes():
    import torch.nn as nn

    class Head(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.num_classes = n

    class Model(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.rpn_head = Head(1)
            self.bbox_head = Head(n)

    class DS:
        CLASSES = ('a', 'b', 'c')

    check_num_classes(Model(3), DS())
    with pytest.raises(ValueError, match=r"bbox_head': 80.*3 classes"):
        check_num_classes(Model(80), DS())

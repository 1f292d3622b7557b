"""Bad data is named, never a raw traceback or a silent wrong result (issue 16, item 3): image
formats, EXIF rotation, sizes that differ from the annotation file, degenerate boxes and
polygons, RLE, images without annotations, duplicate ids, masks without segmentation, nothing
left after filtering. Images are 32x40 px, made in the test."""
import io
import json
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from PIL import Image

import mmdet_lite.datasets.coco as coco_module
import mmdet_lite.datasets.pipelines.loading as loading_module
from mmdet_lite.datasets import build_dataset
from mmdet_lite.datasets.annotation_error import AnnotationError, DuplicateIdError
from mmdet_lite.datasets.pipelines import LoadImageFromFile

H, W = 32, 40
PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='Resize', img_scale=(80, 64), keep_ratio=True),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks'])]
BOX_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='DefaultFormatBundle'),
                dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]


def _ann(ann_id, image_id=1, bbox=(2, 3, 10, 12), **extra):
    x, y, w, h = bbox
    ann = dict(id=ann_id, image_id=image_id, category_id=1, bbox=list(bbox), area=w * h,
               iscrowd=0, segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]])
    ann.update(extra)
    return ann


def _dataset(root, annotations, images=None, pipeline=PIPELINE, **kwargs):
    """A COCO file with ``images`` (default: two 32x40 grey PNGs) and ``annotations``."""
    images = images or [dict(id=1, file_name='a.png', height=H, width=W),
                        dict(id=2, file_name='b.png', height=H, width=W)]
    for img in images:
        if not osp.exists(osp.join(root, img['file_name'])):
            cv2.imwrite(osp.join(root, img['file_name']), np.full((H, W, 3), 90, np.uint8))
    with open(osp.join(root, 'ann.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=1, name='cat'), dict(id=2, name='dog')]), f)
    cfg = dict(type='CocoDataset', ann_file='ann.json', data_root=str(root), img_prefix='',
               classes=('cat', 'dog'), pipeline=pipeline)
    cfg.update(kwargs)
    return build_dataset(cfg)


@pytest.fixture
def logged(monkeypatch):
    """The messages the dataset and the loading transforms log (kept from mmengine's global
    logger, which would otherwise be created here bound to this test's captured stdout)."""
    messages = []
    for module in (coco_module, loading_module):
        monkeypatch.setattr(module, 'print_log', lambda msg, **kw: messages.append(msg))
    return messages


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _load(tmp_path, content: bytes, name: str, color_type='color', height=H, width=W):
    (tmp_path / name).write_bytes(content)
    results = dict(img_info=dict(id=7, filename=name, height=height, width=width),
                   img_prefix=str(tmp_path))
    return LoadImageFromFile(color_type=color_type)(results)


RED = Image.new('RGB', (W, H), (255, 0, 0))


@pytest.mark.parametrize('name,content,bgr', [
    ('gray.png', _encode(RED.convert('L'), 'PNG'), (76, 76, 76)),
    ('rgba.png', _encode(RED.convert('RGBA'), 'PNG'), (0, 0, 255)),  # alpha dropped
    ('palette.png', _encode(RED.convert('P'), 'PNG'), (0, 0, 255)),
    ('cmyk.jpg', _encode(RED.convert('CMYK'), 'JPEG', quality=95), (0, 0, 255)),
    # 16 bits: scaled to 8 (40000 / 256 = 156), as mmcv's 'color' flag does in 2.x
    ('gray16.png', _encode(Image.fromarray(np.full((H, W), 40000, np.uint16)), 'PNG'),
     (156, 156, 156)),
])
def test_image_formats_load_as_three_channel_uint8(tmp_path, logged, name, content, bgr):
    results = _load(tmp_path, content, name)
    img = results['img']
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    np.testing.assert_allclose(img[H // 2, W // 2], bgr, atol=2)
    assert results['ori_shape'] == (H, W, 3) and not logged


def test_exif_rotated_jpeg_is_decoded_upright_as_2x(tmp_path, logged):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated by 90 degrees
    content = _encode(RED, 'JPEG', exif=exif.tobytes())
    # the annotation entry gives the upright size: nothing to say
    assert _load(tmp_path, content, 'up.jpg', height=W, width=H)['img'].shape == (W, H, 3)
    assert not logged
    # the entry gives the stored size: a test sample is kept, with a warning naming the fix
    results = _load(tmp_path, content, 'stored.jpg')
    assert results['img'].shape == (W, H, 3)
    assert len(logged) == 1 and 'EXIF orientation 6' in logged[0]
    assert "color_type='color_ignore_orientation'" in logged[0] and 'id=7' in logged[0]
    # ... which reads the stored pixels
    results = _load(tmp_path, content, 'stored.jpg', color_type='color_ignore_orientation')
    assert results['img'].shape == (H, W, 3) and len(logged) == 1


def test_image_size_differs_from_its_entry(tmp_path, logged):
    cv2.imwrite(str(tmp_path / 'b.png'), np.full((2 * H, 2 * W, 3), 90, np.uint8))
    ds = _dataset(tmp_path, [_ann(1), _ann(2, image_id=2)])
    # training: image 2's boxes do not fit its file, the sample is replaced by image 1's
    for _ in range(3):
        assert ds[1]['img_metas']['img_id'] == 1
    assert len(logged) == 1  # once per file
    assert "b.png' is 64x80 (height x width)" in logged[0] and 'id=2' in logged[0]
    assert 'says 32x40' in logged[0] and 'skipped in training' in logged[0]
    # testing: the detections are in the file's pixels
    test_ds = _dataset(tmp_path, [_ann(1)], test_mode=True,
                       pipeline=[dict(type='LoadImageFromFile')])
    assert test_ds[1]['ori_shape'] == (2 * H, 2 * W, 3)


def test_degenerate_and_outside_boxes(tmp_path, logged):
    ds = _dataset(tmp_path, [
        _ann(1), _ann(2, bbox=(5, 5, 0, 10)), _ann(3, bbox=(50, 5, 10, 10)),
        _ann(4, bbox=(30, 20, 20, 20)), _ann(5, image_id=99)])
    lines = {k: [m for m in logged if k in m] for k in (
        'narrower', 'entirely outside', 'past their image', 'not in "images"')}
    assert {k: len(v) for k, v in lines.items()} == dict.fromkeys(lines, 1)
    assert '(annotation ids [2])' in lines['narrower'][0]
    assert '(annotation ids [3])' in lines['entirely outside'][0]
    assert '(annotation ids [4])' in lines['past their image'][0]
    assert '(annotation ids [5])' in lines['not in "images"'][0]
    assert ds.get_ann_info(0)['ann_ids'] == [1, 4]
    # the box partly outside is clipped to the (resized, x2) image
    np.testing.assert_allclose(ds[0]['gt_bboxes'][1].numpy(), [60, 40, 80, 64])


def test_polygons_of_fewer_than_three_points(tmp_path, logged):
    annotations = [_ann(1, segmentation=[[2, 3, 12, 3, 12, 15, 2, 15], [20, 20, 30, 30]]),
                   _ann(2, bbox=(20, 4, 10, 8), segmentation=[[20, 4, 30, 12]])]
    ds = _dataset(tmp_path, annotations)
    assert any('1 of 2 annotations' in m and 'no polygon of 3 or more points' in m
               and '[2]' in m for m in logged)
    assert any('polygons of fewer than 3 points' in m and '[1]' in m for m in logged)
    ann = ds.get_ann_info(0)
    assert ann['ann_ids'] == [1, 2]
    assert ann['masks'] == [[[2, 3, 12, 3, 12, 15, 2, 15]], []]
    # with masks, annotation 2 is left out (box and mask); the 4-number polygon of annotation 1
    # did not become a box-shaped mask (pycocotools' rule for 4 numbers)
    data = ds[0]
    assert data['gt_bboxes'].shape == (1, 4) and data['gt_labels'].tolist() == [0]
    mask = data['gt_masks'].masks[0]
    assert mask.shape == (64, 80) and mask[40:60, 40:60].sum() == 0 and mask[8:28, 6:22].all()
    # a box-only model keeps both boxes, as 2.x
    assert _dataset(tmp_path, annotations, pipeline=BOX_PIPELINE)[0]['gt_bboxes'].shape == (2, 4)


def _uncompressed_rle(bitmap: np.ndarray) -> dict:
    """COCO's uncompressed RLE: run lengths in column-major order, starting with zeros."""
    counts, value, run = [], 0, 0
    for v in bitmap.flatten(order='F'):
        if v == value:
            run += 1
        else:
            counts.append(run)
            value, run = v, 1
    return dict(size=list(bitmap.shape), counts=counts + [run])


def test_rle_segmentations(tmp_path, logged):
    bitmap = np.zeros((H, W), np.uint8)
    bitmap[4:12, 20:30] = 1
    compressed = mask_utils.encode(np.asfortranarray(bitmap))
    compressed['counts'] = compressed['counts'].decode()
    uncompressed = _uncompressed_rle(bitmap)
    assert mask_utils.decode(mask_utils.frPyObjects(uncompressed, H, W)).sum() == 80
    ds = _dataset(tmp_path, [
        _ann(1, bbox=(20, 4, 10, 8), segmentation=compressed),
        _ann(2, bbox=(20, 4, 10, 8), segmentation=uncompressed),
        _ann(3, bbox=(0, 0, 30, 30), segmentation=compressed, iscrowd=1)])
    ann = ds.get_ann_info(0)
    assert ann['ann_ids'] == [1, 2] and ann['bboxes_ignore'].shape == (1, 4)
    masks = ds[0]['gt_masks'].masks
    assert masks.shape == (2, 2 * H, 2 * W) and (masks.sum(axis=(1, 2)) == 320).all()
    assert not [m for m in logged if 'annotation' in m and 'images' not in m]
    # an RLE of another size than the image entry: named, not a shape error later
    wrong = dict(compressed, size=[H + 1, W])
    ds = _dataset(tmp_path, [_ann(1, segmentation=wrong)])
    with pytest.raises(AnnotationError, match=r'annotation id=1 .*RLE mask is 33x40 but the '
                       r'image entry is 32x40'):
        ds[0]


def test_images_without_annotations(tmp_path, logged):
    ds = _dataset(tmp_path, [_ann(1)])
    assert len(ds) == 1
    assert any('1 of 2 images' in m and 'no annotation of the classes' in m
               and '(filter_empty_gt=True; image ids [2])' in m for m in logged)
    ds = _dataset(tmp_path, [_ann(1)], filter_empty_gt=False)
    empty = ds[1]
    assert empty['gt_bboxes'].shape == (0, 4) and empty['gt_labels'].shape == (0,)
    assert empty['gt_masks'].masks.shape == (0, 2 * H, 2 * W)


@pytest.mark.parametrize('key', ['images', 'annotations'])
def test_duplicate_ids_are_an_error_naming_them(tmp_path, logged, key):
    images = [dict(id=1, file_name='a.png', height=H, width=W),
              dict(id=2 if key == 'annotations' else 1, file_name='b.png', height=H, width=W)]
    annotations = [_ann(1), _ann(2 if key == 'images' else 1, image_id=images[1]['id'])]
    with pytest.raises(DuplicateIdError) as err:
        _dataset(tmp_path, annotations, images=images)
    message = str(err.value)
    assert osp.join(str(tmp_path), 'ann.json') in message
    assert f'1 {key[:-1]} ids occur more than once in "{key}": [1] (id 1: 2 times)' in message
    # mmdetection 2.x asserted on duplicate annotation ids; a 2.x user's except still works
    assert isinstance(err.value, AssertionError)


def test_unknown_category_id(tmp_path, logged):
    with pytest.raises(AnnotationError, match=r'annotation id=2 \(image_id=1\) has '
                       r'category_id=7, which is not a category of the file; known category '
                       r'ids: \[1, 2\]'):
        _dataset(tmp_path, [_ann(1), _ann(2, category_id=7)])


@pytest.mark.parametrize('segmentation', ['absent', []])
def test_masks_without_segmentation(tmp_path, logged, segmentation):
    no_segm = _ann(3, segmentation=segmentation)
    if segmentation == 'absent':
        del no_segm['segmentation']
    ds = _dataset(tmp_path, [_ann(1), no_segm])
    with pytest.raises(AnnotationError, match=r"annotation id=3 of image entry \(id=1, "
                       r".*has no 'segmentation'.*with_mask=False"):
        ds[0]
    # a box-only pipeline trains on the same file (box-only converters write [])
    ds = _dataset(tmp_path, [_ann(1), no_segm], pipeline=BOX_PIPELINE)
    assert ds[0]['gt_bboxes'].shape == (2, 4)
    assert not [m for m in logged if 'annotations in' in m]  # nothing dropped


def test_empty_dataset_after_filtering(tmp_path, logged):
    # every annotation is a 'dog', the dataset trains on 'cat' only
    with pytest.raises(AnnotationError) as err:
        _dataset(tmp_path, [_ann(1, category_id=2)], classes=('cat',))
    message = str(err.value)
    assert 'no image of' in message and 'ann.json' in message
    assert "2 have no annotation of the classes ('cat',)" in message
    assert "['cat', 'dog']" in message and 'filter_empty_gt=False' in message

"""mmdet_lite/apis/result_export.py: the JSON record and the drawing behind the web demo."""
import json

import numpy as np
import pytest
from pycocotools import mask as mask_util

from mmdet_lite.apis import result_to_dict
from mmdet_lite.apis.result_export import (draw_detections, json_to_arrays, present_result,
                                           result_to_json, summarize_detections)

CLASSES = ('circle', 'square', 'star')


def _masked_result():
    """Two classes with detections (scores 0.9, 0.2 / 0.6), one without; 20x30 image."""
    h, w = 20, 30
    boxes = [np.array([[1, 2, 10, 12, 0.9], [5, 5, 9, 9, 0.2]], dtype=np.float32),
             np.zeros((0, 5), dtype=np.float32),
             np.array([[12, 3, 28, 18, 0.6]], dtype=np.float32)]
    masks = [[], [], []]
    for c, cls_boxes in enumerate(boxes):
        for x1, y1, x2, y2, _ in cls_boxes:
            m = np.zeros((h, w), dtype=bool)
            m[int(y1):int(y2), int(x1):int(x2)] = True
            m[int(y1), int(x1)] = False  # not a plain rectangle
            masks[c].append(m)
    return (boxes, masks), (h, w, 3)


def test_record_round_trips_through_json_text():
    result, shape = _masked_result()
    record = result_to_json(result, CLASSES, 0.3, shape)
    text = json.dumps(record)
    back = json_to_arrays(json.loads(text))
    want = result_to_dict(result)
    keep = want['scores'] > 0.3
    assert keep.sum() == 2 and len(record['detections']) == 2
    np.testing.assert_array_equal(back['bboxes'], want['bboxes'][keep])
    np.testing.assert_array_equal(back['scores'], want['scores'][keep])
    np.testing.assert_array_equal(back['labels'], want['labels'][keep])
    np.testing.assert_array_equal(back['masks'], want['masks'][keep])
    assert [d['class_name'] for d in record['detections']] == ['circle', 'star']
    assert record['image'] == dict(height=20, width=30)
    # the mask is plain COCO RLE: pycocotools reads it as it is written
    rle = record['detections'][1]['mask']
    decoded = mask_util.decode(dict(size=rle['size'], counts=rle['counts'].encode()))
    np.testing.assert_array_equal(decoded.astype(bool), want['masks'][2])


def test_record_without_masks_and_without_detections():
    boxes = [np.array([[0, 0, 4, 4, 0.1]], dtype=np.float32), np.zeros((0, 5), np.float32)]
    record = result_to_json(boxes, None, 0.5, (8, 8))
    assert record['detections'] == [] and record['has_masks'] is False
    back = json_to_arrays(record)
    assert back['bboxes'].shape == (0, 4) and back['masks'] is None
    assert summarize_detections(record) == '0 detections (score > 0.50)'
    low = result_to_json(boxes, None, 0.0, (8, 8))
    assert low['detections'][0]['class_name'] == 'class 0' and low['detections'][0]['mask'] is None
    result, shape = _masked_result()
    empty = json_to_arrays(result_to_json(result, CLASSES, 0.95, shape))
    assert empty['masks'].shape == (0, 20, 30)


def test_record_errors_name_the_fix():
    result, _ = _masked_result()
    with pytest.raises(ValueError, match='img_shape'):
        result_to_json(result, CLASSES, 0.3, (21, 30))
    with pytest.raises(ValueError, match='class_names'):
        result_to_json(result, CLASSES[:2], 0.3, (20, 30))
    with pytest.raises(ValueError, match='result_to_json'):
        json_to_arrays({'detections': []})


def test_present_result_draws_only_kept_detections():
    result, shape = _masked_result()
    image = np.full(shape, 128, dtype=np.uint8)
    shown = present_result(image, result, CLASSES, 0.3)
    assert shown.summary == '2 detections (score > 0.30): 1 x circle, 1 x star'
    assert shown.drawn_rgb.shape == shape and shown.drawn_rgb.dtype == np.uint8
    changed = (shown.drawn_rgb != image).any(axis=2)
    assert changed[3:11, 2:9].any() and changed[4:17, 13:27].any()
    # the 0.2 detection is inside the first one: compare with a drawing of the kept two only
    kept = ([result[0][0][:1], result[0][1], result[0][2]],
            [result[1][0][:1], result[1][1], result[1][2]])
    np.testing.assert_array_equal(shown.drawn_rgb, draw_detections(image, kept, CLASSES, 0.3))
    # RGB in, RGB out: a red image stays red outside the drawing
    red = np.zeros(shape, dtype=np.uint8)
    red[..., 0] = 255
    assert (draw_detections(red, result, CLASSES, 0.95)[..., 0] == 255).all()
    with pytest.raises(ValueError, match='uint8'):
        present_result(image.astype(np.float32), result, CLASSES, 0.3)

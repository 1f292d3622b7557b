"""coco_occluded_separated_recall on a hand-made image: which objects count as recalled."""
import pickle

import mmengine
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from mmdet_lite.datasets import CocoDataset

from .tool_loader import load_tool


def _rle(x1, y1, x2, y2, size=(20, 20)):
    mask = np.zeros(size, np.uint8, order='F')
    mask[y1:y2, x1:x2] = 1
    return mask_utils.encode(mask)


def test_occluded_and_separated_recall(tmp_path):
    classes = CocoDataset.CLASSES  # person = 0, car = 2
    images = [dict(id=1, file_name='a.jpg', width=20, height=20),
              dict(id=2, file_name='b.jpg', width=20, height=20)]
    mmengine.dump(dict(images=images, annotations=[],
                       categories=[dict(id=i + 1, name=n) for i, n in enumerate(classes)]),
                  str(tmp_path / 'val.json'))
    empty = [np.zeros((0, 5), np.float32) for _ in classes]

    def result(dets):
        boxes, masks = list(empty), [[] for _ in classes]
        for label, box, score in dets:
            boxes[label] = np.vstack([boxes[label], [*box, score]]).astype(np.float32)
            masks[label].append(_rle(*box))
        return (boxes, masks)

    results = [result([(0, (0, 0, 10, 10), 0.9), (2, (10, 10, 20, 20), 0.2)]),
               result([(0, (0, 0, 10, 8), 0.8)])]  # IoU 0.8 with the 10x10 person
    mmengine.dump(results, str(tmp_path / 'results.pkl'))
    occluded = [['a.jpg', 'person', 0, [0, 0, 10, 10], _rle(0, 0, 10, 10)],   # found
                ['a.jpg', 'car', 0, [10, 10, 10, 10], _rle(10, 10, 20, 20)],  # score 0.2 < 0.3
                ['b.jpg', 'person', 0, [0, 0, 10, 10], _rle(0, 0, 10, 10)]]   # IoU 0.8 >= 0.75
    separated = [['b.jpg', 'person', 0, [0, 0, 10, 10], _rle(0, 0, 10, 10)],
                 ['b.jpg', 'dog', 0, [0, 0, 10, 10], _rle(0, 0, 10, 10)]]     # wrong class
    for name, objects in (('occ.pkl', occluded), ('sep.pkl', separated)):
        with open(tmp_path / name, 'wb') as f:
            pickle.dump(objects, f)
    tool = load_tool('tools/analysis_tools/coco_occluded_separated_recall.py')
    metrics = tool.main([str(tmp_path / 'results.pkl'), '--ann', str(tmp_path / 'val.json'),
                         '--occluded-ann', str(tmp_path / 'occ.pkl'), '--separated-ann',
                         str(tmp_path / 'sep.pkl'), '--out', str(tmp_path / 'out.json')])
    assert metrics == dict(occluded_recall=pytest.approx(200 / 3), separated_recall=50.0)
    strict = tool.main([str(tmp_path / 'results.pkl'), '--ann', str(tmp_path / 'val.json'),
                        '--occluded-ann', str(tmp_path / 'occ.pkl'), '--separated-ann',
                        str(tmp_path / 'sep.pkl'), '--iou-thr', '0.9', '--score-thr', '0.1'])
    assert strict == dict(occluded_recall=pytest.approx(200 / 3), separated_recall=0.0)
    assert mmengine.load(str(tmp_path / 'out.json'))['separated_recall'] == 50.0

"""analyze_results ranks images by per-image mAP: the image the test spoils comes out worst."""
import os

import mmengine
import numpy as np

from mmdet_lite.analysis.analyze_results import bbox_map_eval
from mmdet_lite.apis import build_test_dataset, load_config

from .tool_loader import load_tool


def test_bbox_map_eval_hand_worked():
    ann = dict(bboxes=np.array([[0, 0, 10, 10]], np.float32), labels=np.array([0]))
    perfect = [np.array([[0, 0, 10, 10, 0.9]], np.float32), np.zeros((0, 5), np.float32)]
    assert bbox_map_eval(perfect, ann) == 1.0
    # IoU 0.8: a match at thresholds 0.50..0.80 (7 of 10)
    shifted = [np.array([[0, 0, 10, 8, 0.9]], np.float32), np.zeros((0, 5), np.float32)]
    assert abs(bbox_map_eval((shifted, [[], []]), ann) - 0.7) < 1e-6
    assert bbox_map_eval([np.zeros((0, 5), np.float32)] * 2, ann) == 0.0


def test_worst_image_is_the_spoiled_one(tiny_shapes_checkpoint, tmp_path):
    config, _, _, _ = tiny_shapes_checkpoint
    dataset = build_test_dataset(load_config(config))
    num_classes = len(dataset.CLASSES)
    results = []
    for i in range(len(dataset)):  # perfect detections from the ground truth ...
        ann = dataset.get_ann_info(i)
        per_class = [np.zeros((0, 5), np.float32) for _ in range(num_classes)]
        for box, label in zip(ann['bboxes'], ann['labels']):
            per_class[label] = np.vstack([per_class[label], np.append(box, 0.9)[None]])
        results.append(per_class)
    spoiled = 2  # ... except on this image, whose boxes move off their objects
    results[spoiled] = [r + np.array([30, 30, 30, 30, 0], np.float32) for r in results[spoiled]]
    mmengine.dump(results, str(tmp_path / 'results.pkl'))
    good, bad = load_tool('tools/analysis_tools/analyze_results.py').main(
        [config, str(tmp_path / 'results.pkl'), str(tmp_path / 'show'), '--topk', '1'])
    assert bad[0][0] == spoiled and bad[0][1] < 0.1
    assert good[0][1] == 1.0
    name = os.path.splitext(os.path.basename(dataset.data_infos[spoiled]['filename']))
    assert os.listdir(tmp_path / 'show' / 'bad') == [f'{name[0]}_{round(bad[0][1], 3)}{name[1]}']
    assert len(os.listdir(tmp_path / 'show' / 'good')) == 1

"""Confusion matrix on a hand-worked image; results files can never run code."""
import os
import pickle

import mmengine
import numpy as np
import pytest

from mmdet_lite.analysis.confusion_matrix import (analyze_per_img_dets, calculate_confusion_matrix,
                                                  load_results, plot_confusion_matrix)


def _empty(n=2):
    return [np.zeros((0, 5), np.float32) for _ in range(n)]


def test_hand_worked_image():
    # classes: 0 = square, 1 = circle; background is index 2
    gt_bboxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], np.float32)
    gt_labels = np.array([0, 1, 1])
    result = _empty()
    result[0] = np.array([
        [0, 0, 10, 10, 0.9],     # square on the square: TP -> [0, 0]
        [20, 20, 30, 31, 0.8],   # square on a circle (IoU 100/110): confusion -> [1, 0]
        [80, 80, 90, 90, 0.7],   # square on nothing: background FP -> [2, 0]
        [0, 0, 10, 10, 0.1],     # below score_thr: ignored
    ], np.float32)
    result[1] = np.array([[50, 50, 60, 60, 0.6]], np.float32)  # TP -> [1, 1]
    matrix = np.zeros((3, 3))
    analyze_per_img_dets(matrix, gt_bboxes, gt_labels, result, score_thr=0.3, tp_iou_thr=0.5)
    expected = np.zeros((3, 3))
    expected[0, 0] = 1
    expected[1, 0] = 1
    expected[2, 0] = 1
    expected[1, 1] = 1
    expected[1, 2] = 1  # the circle at (20, 20) has no circle detection: false negative
    np.testing.assert_array_equal(matrix, expected)

    # a stricter IoU turns the confusion into a background false positive
    matrix = np.zeros((3, 3))
    analyze_per_img_dets(matrix, gt_bboxes, gt_labels, result, score_thr=0.3, tp_iou_thr=0.95)
    assert matrix[1, 0] == 0 and matrix[2, 0] == 2


def test_empty_ground_truth_and_no_detection():
    matrix = np.zeros((3, 3))
    result = _empty()
    result[1] = np.array([[0, 0, 5, 5, 0.9], [1, 1, 6, 6, 0.8]], np.float32)
    analyze_per_img_dets(matrix, np.zeros((0, 4)), np.zeros(0, np.int64), result)
    assert matrix[2, 1] == 2 and matrix.sum() == 2
    matrix = np.zeros((3, 3))
    analyze_per_img_dets(matrix, np.array([[0, 0, 5, 5]]), np.array([0]), _empty())
    assert matrix[0, 2] == 1 and matrix.sum() == 1


def test_nms_removes_duplicates_before_matching():
    result = _empty()
    result[0] = np.array([[0, 0, 10, 10, 0.9], [0, 0, 10, 10.5, 0.8]], np.float32)
    gt_bboxes, gt_labels = np.array([[0, 0, 10, 10]], np.float32), np.array([0])
    matrix = np.zeros((3, 3))
    analyze_per_img_dets(matrix, gt_bboxes, gt_labels, result)
    assert matrix[0, 0] == 2
    matrix = np.zeros((3, 3))
    analyze_per_img_dets(matrix, gt_bboxes, gt_labels, result, nms_iou_thr=0.5)
    assert matrix[0, 0] == 1


class _TinyDataset:
    CLASSES = ('square', 'circle')

    def __len__(self):
        return 2

    def get_ann_info(self, idx):
        return dict(bboxes=np.array([[0, 0, 10, 10]], np.float32), labels=np.array([idx]))


def test_dataset_matrix_plot_and_results_round_trip(tmp_path):
    good = _empty()
    good[0] = np.array([[0, 0, 10, 10, 0.9]], np.float32)
    mask_result = (good, [[{'size': [10, 10], 'counts': b'abc'}], []])
    path = tmp_path / 'results.pkl'
    mmengine.dump([mask_result, good], str(path))  # as tools/test.py --out (pickle protocol 2)
    results = load_results(str(path))
    assert results[0][1][0][0]['counts'] == b'abc'
    matrix = calculate_confusion_matrix(_TinyDataset(), results, score_thr=0.3)
    expected = np.zeros((3, 3))
    expected[0, 0] = 1  # image 0: square detected as square
    expected[1, 0] = 1  # image 1: circle detected as square
    expected[1, 2] = 1  # ... and so the circle is missed
    np.testing.assert_array_equal(matrix, expected)
    plot_confusion_matrix(matrix, ['square', 'circle', 'background'], save_dir=str(tmp_path))
    assert (tmp_path / 'confusion_matrix.png').stat().st_size > 0
    with pytest.raises(ValueError, match='2 images'):
        calculate_confusion_matrix(_TinyDataset(), results[:1])


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_results_file_cannot_run_code(tmp_path):
    path = tmp_path / 'evil.pkl'
    with open(path, 'wb') as f:
        pickle.dump([_Evil()], f)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        load_results(str(path))

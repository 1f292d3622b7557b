"""VOC mAP (area and 11-point) and proposal recall on hand-worked cases."""
import numpy as np
import pytest

from mmdet_lite.evaluation import average_precision, bbox_overlaps, eval_map, eval_recalls

GT = dict(bboxes=np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32),
          labels=np.array([0, 0]),
          bboxes_ignore=np.array([[40, 40, 50, 50]], np.float32), labels_ignore=np.array([0]))
# score 0.9 hits GT 0, 0.8 misses (FP), 0.7 hits GT 1, 0.6 hits the ignored box (neither)
DETS = [[np.array([[0, 0, 10, 10, 0.9], [60, 60, 70, 70, 0.8], [20, 20, 30, 29, 0.7],
                   [40, 40, 50, 50, 0.6]], np.float32)]]


def test_eval_map_area_worked_case():
    # P/R after each det: (1, .5), (.5, .5), (2/3, 1) -> AP = .5 * 1 + .5 * 2/3
    mean_ap, results = eval_map(DETS, [GT], iou_thr=0.5, logger='silent')
    assert mean_ap == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-6)
    assert results[0]['num_gts'] == 2 and results[0]['num_dets'] == 4
    np.testing.assert_allclose(results[0]['recall'], [0.5, 0.5, 1.0, 1.0])


def test_eval_map_11_points_worked_case():
    # recall thresholds 0..0.5 see precision 1, 0.6..1.0 see 2/3
    mean_ap, _ = eval_map(DETS, [GT], iou_thr=0.5, dataset='voc07', logger='silent')
    assert mean_ap == pytest.approx((6 * 1 + 5 * 2 / 3) / 11, abs=1e-6)
    mean_ap2, _ = eval_map(DETS, [GT], eval_mode='11points', logger='silent')
    assert mean_ap2 == pytest.approx(mean_ap)


def test_eval_map_high_iou_and_no_gt_class():
    # at IoU 0.95 the 0.7 detection (IoU 0.9) no longer counts
    mean_ap, _ = eval_map(DETS, [GT], iou_thr=0.95, logger='silent')
    assert mean_ap == pytest.approx(0.5, abs=1e-6)
    # a class without GT is left out of the mean; no detections at all gives 0
    two_cls = [[DETS[0][0], np.zeros((0, 5), np.float32)]]
    assert eval_map(two_cls, [GT], logger='silent')[0] == pytest.approx(0.5 + 1 / 3, abs=1e-6)
    empty = [[np.zeros((0, 5), np.float32)]]
    assert eval_map(empty, [GT], logger='silent')[0] == 0.0


def test_eval_map_scale_ranges():
    mean_ap, _ = eval_map(DETS, [GT], scale_ranges=[(0, 5), (5, 100)], logger='silent')
    assert mean_ap[0] == 0.0 and mean_ap[1] == pytest.approx(5 / 6, abs=1e-6)


def test_average_precision_modes():
    rec = np.array([0.5, 0.5, 1.0])
    prec = np.array([1.0, 0.5, 2 / 3])
    assert average_precision(rec, prec) == pytest.approx(5 / 6)
    assert average_precision(rec, prec, '11points') == pytest.approx((6 + 5 * 2 / 3) / 11)


def test_bbox_overlaps_vs_hand_values():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(bbox_overlaps(a, b), [[50 / 150, 0]])
    np.testing.assert_allclose(bbox_overlaps(a, b, mode='iof'), [[0.5, 0]])
    np.testing.assert_allclose(bbox_overlaps(a, b, use_legacy_coordinate=True), [[66 / 176, 0]])
    assert bbox_overlaps(a, np.zeros((0, 4))).shape == (1, 0)


def test_eval_recalls_worked_case():
    gts = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)]
    props = [np.array([[0, 0, 10, 9, 0.5], [20, 20, 30, 30, 0.9], [50, 50, 60, 60, 0.1]],
                      np.float32)]
    recalls = eval_recalls(gts, props, proposal_nums=[1, 3], iou_thrs=[0.5, 0.95],
                           logger='silent')
    # best-first: 1 proposal finds GT 1 only; 3 find both (GT 0 at IoU 0.9)
    np.testing.assert_allclose(recalls, [[0.5, 0.5], [1.0, 0.5]])
    # zero proposals and zero GT
    zero = eval_recalls(gts, [np.zeros((0, 5), np.float32)], [10], 0.5, logger='silent')
    np.testing.assert_allclose(zero, [[0.0]])
    none = eval_recalls([np.zeros((0, 4))], props, [10], 0.5, logger='silent')
    np.testing.assert_allclose(none, [[0.0]])

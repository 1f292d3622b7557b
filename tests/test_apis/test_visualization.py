"""Drawing detections: pixels checked by hand, result unpacking checked against pycocotools."""
import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_util

from mmdet_lite.apis import result_to_dict
from mmdet_lite.core.mask import BitmapMasks
from mmdet_lite.core.visualization import (color_val_matplotlib, get_palette, imshow_det_bboxes,
                                           imshow_det_result, imshow_gt_det_bboxes,
                                           unpack_det_result)


def _mask(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def test_box_outline_drawn_in_bbox_colour_inside_untouched():
    img = np.full((120, 160, 3), 100, dtype=np.uint8)
    bboxes = np.array([[20, 40, 100, 90, 0.9]], dtype=np.float32)
    out = imshow_det_bboxes(img, bboxes, np.array([0]), class_names=['thing'],
                            bbox_color='red', text_color='white', thickness=1)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert (img == 100).all(), 'the input image must not be modified'
    # bottom, left and right edges of the box (the label sits above the top-left corner)
    assert tuple(out[90, 60]) == (0, 0, 255)  # BGR red
    assert tuple(out[70, 20]) == (0, 0, 255)
    assert tuple(out[70, 100]) == (0, 0, 255)
    assert (out[41:90, 21:100] == 100).all()  # inside the box
    assert (out[95:, :] == 100).all() and (out[:, 105:] == 100).all()  # outside box and label
    # the label "thing|0.90": white text on the image darkened to 20 %, just above the box
    above = out[:40, 20:100]
    assert (above == 20).all(axis=-1).sum() > 100
    assert (above == 255).all(axis=-1).sum() > 10
    # no text colour given: the label is written in the box colour
    out = imshow_det_bboxes(img, bboxes, np.array([0]), bbox_color='red', text_color=None)
    assert (out[:40, 20:100] == (0, 0, 255)).all(axis=-1).sum() > 10


def test_score_threshold_and_empty_input_draw_nothing():
    img = np.full((30, 40, 3), 7, dtype=np.uint8)
    bboxes = np.array([[2, 2, 20, 20, 0.2]], dtype=np.float32)
    out = imshow_det_bboxes(img, bboxes, np.array([0]), score_thr=0.3)
    np.testing.assert_array_equal(out, img)
    out = imshow_det_bboxes(img, np.zeros((0, 5)), np.zeros(0, dtype=np.int64), score_thr=0.3)
    np.testing.assert_array_equal(out, img)
    with pytest.raises(ValueError, match='needs scores'):
        imshow_det_bboxes(img, bboxes[:, :4], np.array([0]), score_thr=0.3)


def test_mask_blended_half_way_to_mask_colour():
    img = np.full((100, 100, 3), 100, dtype=np.uint8)
    segm = _mask(100, 100, 40, 90, 40, 90)[None]
    out = imshow_det_bboxes(img, np.array([[40, 40, 90, 90, 0.8]]), np.array([0]), segms=segm,
                            mask_color=(0, 255, 0), bbox_color='blue', thickness=1)
    # interior of the mask, away from its contour, the box and the label: 0.5 * 100 + 0.5 * colour
    expected_bgr = (0.5 * 100 + 0.5 * 0, 0.5 * 100 + 0.5 * 255, 0.5 * 100 + 0.5 * 0)
    np.testing.assert_allclose(out[70, 70].astype(float), expected_bgr, atol=1)
    np.testing.assert_array_equal(out[95, 95], (100, 100, 100))


def test_bad_inputs_name_the_problem():
    img = np.zeros((20, 20, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match='only 1 class_names'):
        imshow_det_bboxes(img, np.array([[1, 1, 5, 5, 0.9]]), np.array([3]), class_names=['a'])
    with pytest.raises(ValueError, match='labels'):
        imshow_det_bboxes(img, np.array([[1, 1, 5, 5, 0.9]]), np.array([0, 1]))
    with pytest.raises(ValueError, match='image size'):
        imshow_det_bboxes(img, np.array([[1, 1, 5, 5, 0.9]]), np.array([0]),
                          segms=np.zeros((1, 10, 10), dtype=bool))
    with pytest.raises(FileNotFoundError, match='nope.png'):
        imshow_det_bboxes('nope.png')
    with pytest.raises(ValueError, match='at least one colour per class'):
        get_palette([(1, 2, 3)], 2)


def test_palette_random_is_reproducible_and_leaves_numpy_rng_alone():
    np.random.seed(3)
    before = np.random.rand()
    np.random.seed(3)
    first = get_palette(None, 5)
    assert np.random.rand() == before
    assert first == get_palette('random', 5) and len(first) == 5
    assert get_palette('green', 2) == [(0, 255, 0), (0, 255, 0)]


def _mask_rcnn_result(h=64, w=96):
    m0 = _mask(h, w, 2, 10, 3, 12)
    m1 = _mask(h, w, 35, 60, 50, 90)
    bbox_result = [np.array([[3, 2, 12, 10, 0.9]], np.float32),
                   np.zeros((0, 5), np.float32),
                   np.array([[50, 35, 90, 60, 0.6]], np.float32)]
    segm_result = [[m0], [], [m1]]
    return (bbox_result, segm_result), (m0, m1)


def test_unpack_and_result_to_dict_mask_rcnn_with_rle():
    (bbox_result, segm_result), (m0, m1) = _mask_rcnn_result()
    rle = [[mask_util.encode(np.asfortranarray(m.astype(np.uint8))) for m in ms]
           for ms in segm_result]
    bboxes, labels, segms = unpack_det_result((bbox_result, rle))
    np.testing.assert_array_equal(labels, [0, 2])
    np.testing.assert_array_equal(bboxes[:, 4], np.array([0.9, 0.6], np.float32))
    np.testing.assert_array_equal(segms, np.stack([m0, m1]))

    det = result_to_dict((bbox_result, segm_result))
    assert set(det) == {'bboxes', 'scores', 'labels', 'masks'}
    assert det['bboxes'].shape == (2, 4) and det['scores'].shape == (2, )
    assert det['masks'].dtype == bool and det['masks'].shape == (2, 64, 96)
    np.testing.assert_array_equal(det['bboxes'][1], [50, 35, 90, 60])

    empty = result_to_dict(([np.zeros((0, 5))] * 3, [[], [], []]), img_shape=(32, 48, 3))
    assert empty['bboxes'].shape == (0, 4) and empty['masks'].shape == (0, 32, 48)
    assert result_to_dict([np.zeros((0, 5))] * 3)['masks'] is None

    with pytest.raises(ValueError, match='one mask per box'):
        unpack_det_result((bbox_result, [[m0], [], []]))


def test_rpn_proposals_unpack_as_one_class():
    proposals = np.array([[0, 0, 5, 5, 0.5], [1, 1, 4, 4, 0.4]], np.float32)
    bboxes, labels, segms = unpack_det_result(proposals)
    np.testing.assert_array_equal(bboxes, proposals)
    np.testing.assert_array_equal(labels, [0, 0])
    assert segms is None


def test_imshow_det_result_saves_readable_file(tmp_path):
    (bbox_result, segm_result), _ = _mask_rcnn_result()
    img = np.full((64, 96, 3), 30, dtype=np.uint8)
    out_file = tmp_path / 'sub' / 'drawn.png'
    drawn = imshow_det_result(img, (bbox_result, segm_result), ('a', 'b', 'c'), score_thr=0.5,
                              out_file=str(out_file))
    saved = cv2.imread(str(out_file))
    np.testing.assert_array_equal(saved, drawn)
    assert (drawn != img).any(axis=-1)[35:60, 50:90].mean() > 0.5
    # below the threshold: the 0.6 box is kept at 0.5 and dropped at 0.7
    higher = imshow_det_result(img, (bbox_result, segm_result), ('a', 'b', 'c'), score_thr=0.7)
    assert not (higher != img).any(axis=-1)[40:60, 55:90].any()


def test_imshow_gt_det_bboxes_overlay_and_stacked():
    img = np.full((100, 120, 3), 40, dtype=np.uint8)
    gt_mask = _mask(100, 120, 50, 90, 10, 50)
    annotation = dict(gt_bboxes=np.array([[10, 50, 50, 90]], np.float32),
                      gt_labels=np.array([0]), gt_masks=BitmapMasks(gt_mask[None], 100, 120))
    result = [np.array([[70, 50, 110, 90, 0.9]], np.float32)]
    overlay = imshow_gt_det_bboxes(img, annotation, result, class_names=['a'])
    assert overlay.shape == img.shape
    # ground truth in (61, 102, 255) RGB on the left, detection in (241, 101, 72) on the right
    assert tuple(overlay[90, 30]) == (255, 102, 61)
    assert tuple(overlay[90, 90]) == (72, 101, 241)
    stacked = imshow_gt_det_bboxes(img, annotation, result, class_names=['a'],
                                   overlay_gt_pred=False)
    assert stacked.shape == (200, 120, 3)
    assert tuple(stacked[90, 30]) == (255, 102, 61) and tuple(stacked[190, 90]) == (72, 101, 241)
    assert tuple(stacked[190, 30]) == (40, 40, 40)  # no ground truth on the detection half
    assert color_val_matplotlib('red') == (1.0, 0.0, 0.0)


def test_show_without_display_raises_instead_of_aborting(monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    monkeypatch.setattr('sys.platform', 'linux')
    with pytest.raises(RuntimeError, match='needs a display'):
        imshow_det_bboxes(np.zeros((10, 10, 3), np.uint8), show=True)

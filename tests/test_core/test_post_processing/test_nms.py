import pytest
import torch
from torchvision.ops import nms as tv_nms

from mmdet_lite.core import batched_nms, multiclass_nms, nms


def _scene(n=60, num_classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 60
    boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 30 + 5], dim=1)
    scores = torch.rand(n, num_classes + 1, generator=g)
    return boxes, scores


def _as_set(dets, labels):
    return {(int(lab), tuple(round(v, 4) for v in det.tolist())) for det, lab in zip(dets, labels)}


def test_multiclass_nms_matches_per_class_torchvision():
    boxes, scores = _scene()
    cfg = dict(type='nms', iou_threshold=0.5)
    dets, labels = multiclass_nms(boxes, scores, 0.3, cfg)
    expected = set()
    for c in range(scores.size(1) - 1):
        valid = scores[:, c] > 0.3
        b, s = boxes[valid], scores[valid, c]
        for k in tv_nms(b, s, 0.5).tolist():
            expected.add((c, tuple(round(v, 4) for v in b[k].tolist() + [s[k].item()])))
    assert _as_set(dets, labels) == expected
    assert (dets[:-1, 4] >= dets[1:, 4]).all()  # sorted by score

    # max_num keeps the best ones; return_inds indexes the flattened (n * C) grid
    top, top_labels, inds = multiclass_nms(boxes, scores, 0.3, cfg, max_num=5, return_inds=True)
    assert torch.equal(top, dets[:5]) and torch.equal(top_labels, labels[:5])
    num_classes = scores.size(1) - 1
    assert torch.equal(inds % num_classes, top_labels)
    assert torch.allclose(scores[:, :-1].reshape(-1)[inds], top[:, 4])


def test_multiclass_nms_class_specific_boxes_and_score_factors():
    boxes, scores = _scene(n=20, num_classes=2, seed=1)
    per_class = torch.cat([boxes, boxes + 100], dim=1)  # class 1 boxes shifted away
    dets, labels = multiclass_nms(per_class, scores, 0.2, dict(iou_threshold=0.6))
    assert (dets[labels == 0, 0] < 100).all() and (dets[labels == 1, 0] >= 100).all()
    # score factors multiply the scores after the threshold
    factors = torch.full((20, ), 0.5)
    d2, l2 = multiclass_nms(boxes, scores, 0.2, dict(iou_threshold=0.6), score_factors=factors)
    d1, l1 = multiclass_nms(boxes, scores, 0.2, dict(iou_threshold=0.6))
    assert torch.allclose(d2[:, 4], d1[:, 4] * 0.5) and torch.equal(l1, l2)
    with pytest.raises(ValueError, match='class-specific'):
        multiclass_nms(torch.zeros((20, 12)), scores, 0.2, dict(iou_threshold=0.5))


def test_multiclass_nms_empty():
    cfg = dict(type='nms', iou_threshold=0.5)
    dets, labels = multiclass_nms(torch.zeros((0, 4)), torch.zeros((0, 5)), 0.05, cfg)
    assert dets.shape == (0, 5) and labels.shape == (0, )
    boxes, scores = _scene(n=10)
    dets, labels, inds = multiclass_nms(boxes, scores * 0, 0.05, cfg, return_inds=True)
    assert dets.shape == (0, 5) and labels.shape == (0, ) and inds.shape == (0, )


def test_batched_nms_options():
    boxes, scores = _scene(n=80, seed=2)
    s = scores[:, 0]
    idxs = (scores[:, 1] * 3).long()
    dets, keep = batched_nms(boxes, s, idxs, dict(type='nms', iou_threshold=0.4))
    assert torch.equal(dets[:, :4], boxes[keep]) and torch.equal(dets[:, 4], s[keep])
    # the per-category loop (more boxes than split_thr) gives the same result
    dets_split, keep_split = batched_nms(boxes, s, idxs, dict(iou_threshold=0.4, split_thr=10))
    assert torch.equal(keep_split, keep) and torch.equal(dets_split, dets)
    # class-agnostic = one plain NMS; the config is not modified
    cfg = dict(iou_threshold=0.4, class_agnostic=True, max_num=3)
    _, keep_agn = batched_nms(boxes, s, idxs, cfg)
    assert keep_agn.tolist() == tv_nms(boxes, s, 0.4)[:3].tolist()
    assert cfg == dict(iou_threshold=0.4, class_agnostic=True, max_num=3)
    empty_dets, empty_keep = batched_nms(torch.zeros((0, 4)), torch.zeros(0),
                                         torch.zeros(0, dtype=torch.long), dict(iou_threshold=.5))
    assert empty_dets.shape == (0, 5) and empty_keep.shape == (0, )
    with pytest.raises(ValueError, match='nms_rotated'):
        batched_nms(boxes, s, idxs, dict(type='nms_rotated', iou_threshold=0.5))
    with pytest.raises(KeyError, match='iou_threshold'):
        batched_nms(boxes, s, idxs, dict(type='nms'))


def test_nms_offset_worked_example():
    # [0,0,9,9] vs [0,0,9,19]: plain IoU 81 / 171 = 0.47; with +1 sizes 100 / 200 = 0.5
    boxes = torch.tensor([[0., 0., 9., 19.], [0., 0., 9., 9.]])
    scores = torch.tensor([0.9, 0.8])
    # a box is dropped when its IoU with a kept box exceeds the threshold
    assert nms(boxes, scores, 0.48)[1].tolist() == [0, 1]
    assert nms(boxes, scores, 0.48, offset=1)[1].tolist() == [0]
    assert nms(boxes, scores, 0.46)[1].tolist() == [0]
    assert nms(boxes, scores, 0.5, offset=1)[1].tolist() == [0, 1]
    dets, inds = nms(boxes, scores, 0.3, score_threshold=0.85)
    assert inds.tolist() == [0] and dets.shape == (1, 5)

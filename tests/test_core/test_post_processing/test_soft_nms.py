"""Soft-NMS against worked values, a naive re-implementation and mmcv 1.7's own CPU kernel
(outputs in tests/data/mmdet2_soft_nms, made by its generate.py)."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from mmdet_lite.core import batched_nms, multiclass_nms
from mmdet_lite.core.post_processing import soft_nms

_REF = np.load(Path(__file__).resolve().parents[2] / 'data' / 'mmdet2_soft_nms' /
               'reference.npz')
_CASES = dict(linear=dict(method='linear', iou_threshold=0.3, sigma=0.5, min_score=1e-3),
              gaussian=dict(method='gaussian', iou_threshold=0.3, sigma=0.5, min_score=0.05),
              naive=dict(method='naive', iou_threshold=0.4, sigma=0.5, min_score=1e-3),
              offset=dict(method='linear', iou_threshold=0.5, sigma=0.5, min_score=0.1, offset=1),
              high_min=dict(method='gaussian', iou_threshold=0.5, sigma=0.1, min_score=0.3))


def ref(key):
    return torch.from_numpy(_REF[key])


def _assert_dets(dets, expected, method):
    assert dets.shape == expected.shape
    if method == 'gaussian':
        # exp: the C library's float exp and a rounded double exp differ by an ulp at most
        assert torch.allclose(dets, expected, rtol=0, atol=1e-6)
    else:
        assert torch.equal(dets, expected)


def test_worked_values():
    # IoU(a, b) = 50 / 150 = 1/3; c is far away
    boxes = torch.tensor([[0., 0., 10., 10.], [5., 0., 15., 10.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.3])
    dets, keep = soft_nms(boxes, scores, iou_threshold=0.3, method='linear')
    assert keep.tolist() == [0, 1, 2]  # b decays to 0.8 * 2/3, still above c
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.8 * (1 - 1 / 3), 0.3]))
    # a higher threshold for c: b decays below it and is picked after c
    dets, keep = soft_nms(boxes, torch.tensor([0.9, 0.8, 0.6]), iou_threshold=0.3)
    assert keep.tolist() == [0, 2, 1]
    assert torch.equal(dets[:, :4], boxes[keep])
    dets, keep = soft_nms(boxes, scores, sigma=0.5, method='gaussian')
    assert keep.tolist() == [0, 1, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.8 * math.exp(-(1 / 9) / 0.5), 0.3]))
    # naive: hard NMS at IoU >= threshold; min_score drops the suppressed box
    dets, keep = soft_nms(boxes, scores, iou_threshold=0.3, method='naive')
    assert keep.tolist() == [0, 2]
    # linear below the threshold leaves scores alone; min_score drops low scores
    dets, keep = soft_nms(boxes, scores, iou_threshold=0.5, min_score=0.5)
    assert keep.tolist() == [0, 1] and torch.equal(dets[:, 4], scores[:2])


def _naive_soft_nms(boxes, scores, iou_threshold, sigma, min_score, method):
    """The Soft-NMS paper's loop, on distinct scores (no ties to break)."""
    scores = scores.clone().double()
    remaining = list(range(len(scores)))
    keep, kept_scores = [], []
    ious = box_iou(boxes.double(), boxes.double())
    while remaining:
        best = max(remaining, key=lambda k: scores[k].item())
        keep.append(best)
        kept_scores.append(scores[best].item())
        remaining.remove(best)
        for j in list(remaining):
            iou = ious[best, j].item()
            if method == 'linear':
                scores[j] *= (1 - iou) if iou >= iou_threshold else 1
            else:
                scores[j] *= math.exp(-iou * iou / sigma)
            if scores[j] < min_score:
                remaining.remove(j)
    return keep, kept_scores


@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_against_naive_implementation(method):
    g = torch.Generator().manual_seed(3)
    xy = torch.rand(50, 2, generator=g) * 40
    boxes = torch.cat([xy, xy + 5 + torch.rand(50, 2, generator=g) * 20], 1)
    scores = torch.rand(50, generator=g)
    dets, keep = soft_nms(boxes, scores, iou_threshold=0.3, sigma=0.5, min_score=0.05,
                          method=method)
    exp_keep, exp_scores = _naive_soft_nms(boxes, scores, 0.3, 0.5, 0.05, method)
    assert keep.tolist() == exp_keep
    assert torch.allclose(dets[:, 4].double(), torch.tensor(exp_scores, dtype=torch.double),
                          atol=1e-5)


@pytest.mark.parametrize('name', sorted(_CASES))
def test_against_mmcv_kernel(name):
    kwargs = _CASES[name]
    boxes = ref('single/boxes')
    for scores_key, case in (('single/scores', f'single_{name}'), ('single/ties',
                                                                    f'ties_{name}')):
        dets, keep = soft_nms(boxes, ref(scores_key), **kwargs)
        assert torch.equal(keep, ref(f'{case}/inds')), case
        _assert_dets(dets, ref(f'{case}/dets'), kwargs['method'])


def test_numpy_in_numpy_out_and_degenerate_boxes():
    dets, keep = soft_nms(_REF['doc/boxes'], _REF['doc/scores'], 0.6, sigma=0.5)
    assert isinstance(dets, np.ndarray) and isinstance(keep, np.ndarray)
    assert np.array_equal(keep, _REF['doc/inds']) and np.array_equal(dets, _REF['doc/dets'])
    assert len(keep) == 5


def test_empty_and_errors():
    dets, keep = soft_nms(torch.zeros(0, 4), torch.zeros(0))
    assert dets.shape == (0, 5) and keep.shape == (0, ) and keep.dtype == torch.long
    with pytest.raises(ValueError, match='method'):
        soft_nms(torch.zeros(1, 4), torch.zeros(1), method='cubic')
    with pytest.raises(ValueError, match='scores'):
        soft_nms(torch.zeros(2, 4), torch.zeros(1))


@pytest.mark.parametrize('name', ['linear', 'gaussian', 'split', 'agnostic'])
def test_multiclass_nms_with_soft_nms_against_mmdet228(name):
    nms_cfg = dict(linear=dict(type='soft_nms', iou_threshold=0.5, min_score=0.05),
                   gaussian=dict(type='soft_nms', iou_threshold=0.5, method='gaussian'),
                   split=dict(type='soft_nms', iou_threshold=0.5, method='gaussian',
                              split_thr=20),
                   agnostic=dict(type='soft_nms', iou_threshold=0.5, class_agnostic=True))[name]
    given = dict(nms_cfg)
    dets, labels = multiclass_nms(ref('multiclass/boxes'), ref('multiclass/scores'), 0.05,
                                  nms_cfg, max_num=100)
    assert nms_cfg == given  # not modified
    assert torch.equal(labels, ref(f'multiclass_{name}/labels'))
    _assert_dets(dets, ref(f'multiclass_{name}/dets'), nms_cfg.get('method', 'linear'))
    assert (dets[:-1, 4] >= dets[1:, 4]).all()


def test_multiclass_nms_soft_nms_class_specific_boxes_and_inds():
    dets, labels, inds = multiclass_nms(ref('multiclass/class_boxes'), ref('multiclass/scores'),
                                        0.3, dict(type='soft_nms', iou_threshold=0.5,
                                                  method='gaussian'), max_num=25,
                                        return_inds=True)
    assert torch.equal(labels, ref('multiclass_class_boxes/labels'))
    assert torch.equal(inds, ref('multiclass_class_boxes/inds'))
    _assert_dets(dets, ref('multiclass_class_boxes/dets'), 'gaussian')


def test_batched_soft_nms_keeps_categories_apart_and_checks_keys():
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])
    scores = torch.tensor([0.9, 0.8])
    cfg = dict(type='soft_nms', iou_threshold=0.3)
    dets, keep = batched_nms(boxes, scores, torch.tensor([0, 1]), cfg)
    assert keep.tolist() == [0, 1] and torch.equal(dets[:, 4], scores)
    dets, keep = batched_nms(boxes, scores, torch.tensor([0, 0]), cfg)
    assert keep.tolist() == [0]  # the duplicate decays to 0
    dets, keep = batched_nms(boxes, scores, torch.tensor([0, 0]), dict(cfg, max_num=1,
                                                                        min_score=0.))
    assert keep.tolist() == [0]
    dets, keep = batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long),
                             cfg)
    assert dets.shape == (0, 5) and keep.numel() == 0
    with pytest.raises(KeyError, match='score_threshold'):
        batched_nms(boxes, scores, torch.tensor([0, 1]), dict(cfg, score_threshold=0.1))

import pytest
import torch
from torchvision.ops import box_iou, generalized_box_iou

from mmdet_lite.core import BboxOverlaps2D, bbox_overlaps, build_iou_calculator


def _boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 40
    return torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 30 + 0.5], dim=1)


def test_against_torchvision():
    a, b = _boxes(9, 0), _boxes(7, 1)
    assert torch.allclose(bbox_overlaps(a, b), box_iou(a, b), atol=1e-6)
    assert torch.allclose(bbox_overlaps(a, b, mode='giou'), generalized_box_iou(a, b), atol=1e-6)
    # aligned = the diagonal of the pairwise matrix
    c = _boxes(9, 2)
    for mode in ('iou', 'iof', 'giou'):
        assert torch.allclose(bbox_overlaps(a, c, mode=mode, is_aligned=True),
                              torch.diagonal(bbox_overlaps(a, c, mode=mode)), atol=1e-6)
    # batched leading dims
    batch = bbox_overlaps(torch.stack([a, a.flip(0)]), torch.stack([b, b]))
    assert batch.shape == (2, 9, 7)
    assert torch.allclose(batch[1], box_iou(a.flip(0), b), atol=1e-6)


def test_worked_iof_and_giou():
    a = torch.tensor([[0., 0., 10., 10.]])
    b = torch.tensor([[5., 0., 25., 10.], [20., 20., 30., 30.]])
    # overlap 50; union 250; area(a) 100
    assert torch.allclose(bbox_overlaps(a, b), torch.tensor([[0.2, 0.]]))
    assert torch.allclose(bbox_overlaps(a, b, mode='iof'), torch.tensor([[0.5, 0.]]))
    # disjoint: enclosing 30 x 30 = 900, union 200 -> giou = 0 - 700 / 900
    assert bbox_overlaps(a, b, mode='giou')[0, 1].item() == pytest.approx(-700 / 900)


def test_empty_and_calculator():
    a = _boxes(3, 3)
    empty = torch.zeros((0, 4))
    assert bbox_overlaps(a, empty).shape == (3, 0)
    assert bbox_overlaps(empty, a).shape == (0, 3)
    assert bbox_overlaps(empty, empty, is_aligned=True).shape == (0, )
    calc = build_iou_calculator(dict(type='BboxOverlaps2D'))
    with_scores = torch.cat([a, torch.rand(3, 1)], dim=1)
    assert torch.allclose(calc(with_scores, a), box_iou(a, a), atol=1e-6)
    half = BboxOverlaps2D(scale=4., dtype='fp16')(a, a)
    assert half.dtype == torch.float32 and torch.allclose(half, box_iou(a, a), atol=1e-2)
    with pytest.raises(ValueError, match='mode'):
        bbox_overlaps(a, a, mode='dice')
    with pytest.raises(ValueError, match='is_aligned'):
        bbox_overlaps(a, a[:2], is_aligned=True)

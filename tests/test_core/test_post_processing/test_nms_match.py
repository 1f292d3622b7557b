"""nms_match against a worked example and mmcv 1.7's own CPU kernel (outputs in
tests/data/mmdet2_soft_nms)."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdet_lite.core.post_processing import nms_match

_REF = np.load(Path(__file__).resolve().parents[2] / 'data' / 'mmdet2_soft_nms' /
               'reference.npz')


def test_worked_example():
    dets = torch.tensor([[0., 0., 10., 10., 0.5],
                         [1., 0., 11., 10., 0.9],  # IoU with box 0: 90 / 110
                         [50., 50., 60., 60., 0.7],
                         [0., 0., 10., 5., 0.8]])  # IoU 0.5 with box 0, 45/105 with box 1
    groups = nms_match(dets, 0.5)
    assert [g.tolist() for g in groups] == [[1, 0], [3], [2]]
    assert [g.tolist() for g in nms_match(dets, 0.4)] == [[1, 3, 0], [2]]
    groups_np = nms_match(dets.numpy(), 0.5)
    assert isinstance(groups_np[0], np.ndarray) and [g.tolist() for g in groups_np] == [[1, 0],
                                                                                       [3], [2]]


@pytest.mark.parametrize('name', ['plain', 'ties'])
def test_against_mmcv_kernel(name):
    boxes = torch.from_numpy(_REF['single/boxes'])
    scores = torch.from_numpy(_REF['single/scores' if name == 'plain' else 'single/ties'])
    groups = nms_match(torch.cat([boxes, scores[:, None]], 1), 0.5)
    assert [len(g) for g in groups] == _REF[f'nms_match_{name}/sizes'].tolist()
    assert torch.cat(groups).tolist() == _REF[f'nms_match_{name}/flat'].tolist()


def test_empty_and_errors():
    assert nms_match(torch.zeros(0, 5), 0.5) == []
    with pytest.raises(ValueError, match='dets must be'):
        nms_match(torch.zeros(3, 4), 0.5)

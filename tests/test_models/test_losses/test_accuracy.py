import pytest
import torch

from mmdet_lite.models.losses import Accuracy, accuracy


def test_accuracy_by_hand():
    pred = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    target = torch.tensor([1, 1, 2, 2])
    # top-1: rows 0 and 2 correct -> 50 %; top-2 adds row 1 -> 75 %
    assert accuracy(pred, target).item() == pytest.approx(50.)
    top1, top2 = accuracy(pred, target, topk=(1, 2))
    assert top1.item() == pytest.approx(50.) and top2.item() == pytest.approx(75.)
    # with a threshold row 2 (score 0.5) no longer counts at thresh 0.6
    assert accuracy(pred, target, thresh=0.6).item() == pytest.approx(25.)
    assert Accuracy(topk=(1, ))(pred, target)[0].item() == pytest.approx(50.)
    assert accuracy(pred[:0], target[:0]).item() == 0.
    with pytest.raises(ValueError, match='top-4'):
        accuracy(pred, target, topk=4)

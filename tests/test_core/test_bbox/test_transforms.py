import numpy as np
import pytest
import torch

from mmdet_lite.core import (bbox2result, bbox2roi, bbox_cxcywh_to_xyxy, bbox_flip, bbox_mapping,
                             bbox_mapping_back, bbox_rescale, bbox_xyxy_to_cxcywh, roi2bbox)


def test_bbox2roi_and_back():
    b0 = torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.]])
    b1 = torch.zeros((0, 4))
    b2 = torch.tensor([[9., 10., 11., 12., 0.9]])  # score column is dropped
    rois = bbox2roi([b0, b1, b2])
    assert rois.tolist() == [[0., 1., 2., 3., 4.], [0., 5., 6., 7., 8.], [2., 9., 10., 11., 12.]]
    back = roi2bbox(rois)  # images without RoIs are skipped
    assert len(back) == 2 and torch.equal(back[0], b0) and torch.equal(back[1], b2[:, :4])
    assert bbox2roi([b1, b1]).shape == (0, 5)
    with pytest.raises(ValueError, match='empty list'):
        bbox2roi([])


def test_bbox2result():
    dets = torch.tensor([[0., 0., 1., 1., .9], [1., 1., 2., 2., .8], [2., 2., 3., 3., .7]])
    labels = torch.tensor([2, 0, 2])
    res = bbox2result(dets, labels, 3)
    assert len(res) == 3 and all(isinstance(r, np.ndarray) for r in res)
    assert res[0].tolist() == [[1., 1., 2., 2., pytest.approx(.8)]]
    assert res[1].shape == (0, 5)
    assert res[2][:, 4] == pytest.approx([.9, .7])
    empty = bbox2result(torch.zeros((0, 5)), torch.zeros((0, ), dtype=torch.long), 4)
    assert len(empty) == 4 and all(r.shape == (0, 5) and r.dtype == np.float32 for r in empty)


def test_flip_and_mapping():
    boxes = torch.tensor([[1., 2., 5., 10.]])
    shape = (20, 30, 3)
    assert bbox_flip(boxes, shape, 'horizontal').tolist() == [[25., 2., 29., 10.]]
    assert bbox_flip(boxes, shape, 'vertical').tolist() == [[1., 10., 5., 18.]]
    assert bbox_flip(boxes, shape, 'diagonal').tolist() == [[25., 10., 29., 18.]]
    with pytest.raises(ValueError, match='direction'):
        bbox_flip(boxes, shape, 'sideways')
    scale = np.array([2., 0.5, 2., 0.5], dtype=np.float32)
    mapped = bbox_mapping(boxes, (10, 60, 3), scale, flip=True)
    # scaled to [2, 1, 10, 5], then flipped in width 60
    assert mapped.tolist() == [[50., 1., 58., 5.]]
    assert torch.allclose(bbox_mapping_back(mapped, (10, 60, 3), scale, flip=True), boxes)


def test_rescale_and_cxcywh():
    boxes = torch.tensor([[0., 0., 10., 20.]])
    assert bbox_rescale(boxes, 2.).tolist() == [[-5., -10., 15., 30.]]
    rois = torch.tensor([[3., 0., 0., 10., 20.]])
    assert bbox_rescale(rois, 0.5).tolist() == [[3., 2.5, 5., 7.5, 15.]]
    cxcywh = bbox_xyxy_to_cxcywh(boxes)
    assert cxcywh.tolist() == [[5., 10., 10., 20.]]
    assert torch.equal(bbox_cxcywh_to_xyxy(cxcywh), boxes)

import numpy as np
import pytest
import torch

from mmdet_lite.core import (bbox_flip, merge_aug_bboxes, merge_aug_masks, merge_aug_proposals,
                             merge_aug_scores)


def _meta(flip, scale=1.0, shape=(40, 60, 3)):
    return dict(img_shape=shape, scale_factor=np.array([scale] * 4, dtype=np.float32), flip=flip,
                flip_direction='horizontal')


def test_merge_aug_bboxes_and_scores():
    boxes = torch.tensor([[1., 2., 11., 12.], [20., 5., 30., 25.]])
    flipped = bbox_flip(boxes * 2, (80, 120, 3))
    metas = [[_meta(False)], [_meta(True, 2.0, (80, 120, 3))]]
    scores = [torch.tensor([[.2, .8], [.6, .4]]), torch.tensor([[.4, .6], [.8, .2]])]
    merged, merged_scores = merge_aug_bboxes([boxes, flipped], scores, metas, None)
    assert torch.allclose(merged, boxes)
    assert torch.allclose(merged_scores, torch.tensor([[.3, .7], [.7, .3]]))
    assert torch.allclose(merge_aug_bboxes([boxes, flipped], None, metas), boxes)
    assert torch.allclose(merge_aug_scores(scores), merged_scores)
    assert np.allclose(merge_aug_scores([s.numpy() for s in scores]), merged_scores.numpy())


def test_merge_aug_proposals():
    props = torch.tensor([[0., 0., 10., 10., .9], [30., 30., 40., 40., .5]])
    flipped = props.clone()
    flipped[:, :4] = bbox_flip(props[:, :4], (40, 60, 3))
    flipped[:, 4] = torch.tensor([.8, .7])
    cfg = dict(nms=dict(type='nms', iou_threshold=0.7), max_per_img=10)
    merged = merge_aug_proposals([props, flipped], [_meta(False), _meta(True)], cfg)
    # duplicates collapse to the higher-scoring copy
    assert merged.tolist() == [[0., 0., 10., 10., pytest.approx(.9)],
                               [30., 30., 40., 40., pytest.approx(.7)]]
    legacy = dict(nms_thr=0.7, max_num=1)
    with pytest.warns(DeprecationWarning):
        assert merge_aug_proposals([props, flipped], [_meta(False), _meta(True)],
                                   legacy).shape == (1, 5)
    assert 'nms' not in legacy  # the given config is not modified


def test_merge_aug_masks():
    mask = np.random.RandomState(0).rand(2, 1, 4, 6).astype(np.float32)
    metas = [[_meta(False)], [_meta(True)]]
    merged = merge_aug_masks([mask, mask[..., ::-1]], metas, None)
    assert np.allclose(merged, mask)
    weighted = merge_aug_masks([mask, np.zeros_like(mask)], [[_meta(False)], [_meta(False)]],
                               None, weights=[3, 1])
    assert np.allclose(weighted, mask * 0.75)
    t = torch.from_numpy(mask)
    assert torch.allclose(merge_aug_masks([t, t.flip(3)], metas, None), t)

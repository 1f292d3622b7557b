"""The vectorised mask RLE encoder gives exactly the RLEs of one pycocotools call per mask."""
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch

from mmdet_lite.core.mask.utils import encode_mask_results, encode_masks


def per_mask(masks):
    return [mask_utils.encode(np.asfortranarray(np.asarray(m, dtype=np.uint8)[:, :, None]))[0]
            for m in masks]


def random_masks(num, height, width, seed=0):
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(num):
        m = rng.random((height, width)) < 0.3          # scattered pixels: many runs
        y0, x0 = rng.integers(0, height), rng.integers(0, width)
        m[:y0] = False
        m[:, :x0] = False
        masks.append(m)
    masks.append(np.zeros((height, width), bool))       # empty
    masks.append(np.ones((height, width), bool))        # full: touches every border
    edge = np.zeros((height, width), bool)
    edge[-1, -1] = edge[0, 0] = True                    # corners only
    masks.append(edge)
    return masks


def test_encode_masks_equals_per_mask_calls():
    masks = random_masks(12, 17, 23)
    assert encode_masks(masks) == per_mask(masks)
    assert encode_masks([m.astype(np.uint8) for m in masks]) == per_mask(masks)
    assert encode_masks([torch.from_numpy(m) for m in masks]) == per_mask(masks)
    assert encode_masks([]) == []
    with pytest.raises(ValueError, match='mask 1 is'):
        encode_masks([masks[0], np.zeros((3, 4), bool)])


def test_encode_mask_results_keeps_classes_order_sizes_and_scores():
    masks = random_masks(6, 9, 14, seed=1)
    other = random_masks(2, 5, 7, seed=2)[:2]           # a second size in the same result
    segm = [[masks[0], masks[1]], [], [other[0], masks[2], other[1]], masks[3:]]
    expected = [per_mask(cls) for cls in segm]
    assert encode_mask_results(segm) == expected
    scores = [[0.9, 0.8], [], [0.7, 0.6, 0.5], [0.4] * len(masks[3:])]
    encoded, kept_scores = encode_mask_results((segm, scores))
    assert encoded == expected and kept_scores is scores
    assert encode_mask_results([[], []]) == [[], []]

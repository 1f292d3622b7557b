"""scale_factor_tensor: the one normalisation of img_metas' scale_factor."""
import numpy as np
import pytest
import torch

from mmdet_lite.core import scale_factor_tensor


@pytest.mark.parametrize('scale_factor, expected', [
    (0.5, [0.5, 0.5, 0.5, 0.5]),
    (2, [2., 2., 2., 2.]),
    (np.array([1.5], dtype=np.float32), [1.5, 1.5, 1.5, 1.5]),
    ((1.5, 2.0), [1.5, 2.0, 1.5, 2.0]),
    (np.array([1.5, 2.0, 1.5, 2.0], dtype=np.float32), [1.5, 2.0, 1.5, 2.0]),
    (torch.tensor([3., 4., 3., 4.], dtype=torch.float64), [3., 4., 3., 4.]),
])
def test_scale_factor_becomes_wh_wh_vector_like_the_boxes(scale_factor, expected):
    boxes = torch.zeros(2, 4, dtype=torch.float32)
    scale = scale_factor_tensor(scale_factor, boxes)
    assert scale.dtype == boxes.dtype and scale.shape == (4, )
    assert scale.tolist() == expected
    # (w, h) pairs divide x and y coordinates respectively.
    box = torch.tensor([[3., 4., 6., 8.]])
    assert (box / scale_factor_tensor((1.5, 2.0), box)).tolist() == [[2., 2., 4., 4.]]


def test_scale_factor_of_three_values_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="got 3.*img_metas\\['scale_factor'\\]"):
        scale_factor_tensor([1., 2., 3.], torch.zeros(1, 4))

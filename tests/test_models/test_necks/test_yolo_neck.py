import pytest
import torch

from mmdet_lite.models.necks import YOLOV3Neck


def test_yolov3_neck_shapes_and_errors(one_thread):
    neck = YOLOV3Neck(3, in_channels=[32, 16, 8], out_channels=[8, 4, 2])
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4)]
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(1, 8, 4, 4), (1, 4, 8, 8), (1, 2, 16, 16)]
    assert neck.detect2.conv1.conv.in_channels == 16 + 4
    with pytest.raises(ValueError, match='num_scales=3'):
        YOLOV3Neck(3, [32, 16], [8, 4, 2])
    with pytest.raises(ValueError, match='3 inputs'):
        neck(feats[1:])

import torch

from mmdet_lite.models.necks import DilatedEncoder


def test_dilated_encoder_shapes_init_and_init_cfg():
    neck = DilatedEncoder(16, 8, 4, 2, [2, 4], init_cfg=None)
    neck.init_weights()
    assert neck.dilated_encoder_blocks[1].conv2.conv.dilation == (4, 4)
    assert neck.dilated_encoder_blocks[0].conv1.conv.weight.std() < 0.02
    (out,) = neck([torch.randn(1, 4, 8, 8), torch.randn(2, 16, 5, 7)])
    assert out.shape == (2, 8, 5, 7)

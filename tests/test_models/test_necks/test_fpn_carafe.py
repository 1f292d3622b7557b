import pytest
import torch

from mmdet_lite.models.layers import CARAFEPack
from mmdet_lite.models.necks import FPN_CARAFE


def test_fpn_carafe_layout_shapes_and_init(one_thread):
    neck = FPN_CARAFE([4, 8, 16], 8, num_outs=4,
                      upsample_cfg=dict(type='carafe', up_kernel=3, compressed_channels=4))
    neck.init_weights()
    assert len(neck.lateral_convs) == len(neck.fpn_convs) == 4
    assert len(neck.upsample_modules) == 3 and all(
        isinstance(m, CARAFEPack) for m in neck.upsample_modules)
    assert neck.upsample_modules[0].content_encoder.weight.std() < 0.01
    feats = [torch.randn(1, c, 9 // 2**i + 1, 9 // 2**i + 1) for i, c in enumerate((4, 8, 16))]
    outs = neck(feats)  # 10, 5, 3 (+ 2): odd sizes are cropped after upsampling
    assert [tuple(o.shape[2:]) for o in outs] == [(10, 10), (5, 5), (3, 3), (2, 2)]


def test_fpn_carafe_errors():
    with pytest.raises(ValueError, match='init_cfg'):
        FPN_CARAFE([4], 4, 1, init_cfg=dict(type='Xavier'))
    with pytest.raises(ValueError, match='upsample_kernel'):
        FPN_CARAFE([4, 8], 4, 2, upsample_cfg=dict(type='deconv'))
    with pytest.raises(ValueError, match='bicubic'):
        FPN_CARAFE([4, 8], 4, 2, upsample_cfg=dict(type='bicubic'))

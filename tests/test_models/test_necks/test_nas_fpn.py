import pytest
import torch

from mmdet_lite.models.necks import NASFCOS_FPN, NASFPN


def test_nas_fpn_levels_and_errors(one_thread):
    neck = NASFPN([4, 8, 16], 8, num_outs=5, stack_times=1)
    neck.init_weights()
    outs = neck([torch.randn(1, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate((4, 8, 16))])
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16 // 2**i, 16 // 2**i) for i in range(5)]
    assert not neck.fpn_stages[0]['gp_43_5'].with_out_conv
    with pytest.raises(ValueError, match='num_outs must be 5'):
        NASFPN([4, 8, 16], 8, num_outs=4, stack_times=1)


def test_nasfcos_fpn_levels(one_thread):
    neck = NASFCOS_FPN([4, 8, 16, 32], 8, num_outs=5)
    neck.init_weights()
    feats = [torch.randn(1, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate((4, 8, 16, 32))]
    outs = neck(feats)
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]
    assert neck.fpn['c22_1'].out_conv.conv.weight.shape == (8, 2, 1, 1)  # grouped 1x1
    with pytest.raises(ValueError, match='init_cfg'):
        NASFCOS_FPN([4, 8], 8, 1, init_cfg=dict(type='Xavier'))

import pytest
import torch

from mmdet_lite.models.necks import FPG


def test_fpg_shapes_skips_and_identity_skip(one_thread):
    # 2.x's default across_down_trans (an unpadded 3x3 conv) cannot fit levels; configs give
    # an interpolation conv; the default skip transition is the identity
    neck = FPG([4, 8], 6, num_outs=3, stack_times=2, paths=['bu', 'bu'],
               across_down_trans=dict(type='interpolation_conv', kernel_size=3),
               skip_inds=[(0,), (), ()])
    neck.init_weights()
    assert len(neck.fpn_transitions[0][0]) == 0  # skipped: no transitions
    assert isinstance(neck.extra_downsamples[0], torch.nn.MaxPool2d)
    outs = neck([torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4)])
    assert [tuple(o.shape) for o in outs] == [(1, 6, 8, 8), (1, 6, 4, 4), (1, 6, 2, 2)]


def test_fpg_errors():
    with pytest.raises(ValueError, match='paths'):
        FPG([4, 8], 6, 3, stack_times=2, paths=['bu'])
    with pytest.raises(KeyError, match='deform'):
        FPG([4, 8], 6, 3, stack_times=1, paths=['bu'], across_lateral_trans=dict(type='deform'))

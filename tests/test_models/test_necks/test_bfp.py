import pytest
import torch

from mmdet_lite.models.necks import BFP


def test_bfp_without_refinement_adds_the_balanced_mean():
    feats = [torch.full((1, 2, 8 // 2**i, 8 // 2**i), float(i)) for i in range(3)]
    outs = BFP(2, 3, refine_level=1)(feats)
    # constant levels 0, 1, 2 → balanced feature 1 everywhere → each level + 1
    for i, out in enumerate(outs):
        torch.testing.assert_close(out, feats[i] + 1)
    with pytest.raises(ValueError, match='refine_type'):
        BFP(2, 3, refine_type='attention')
    with pytest.raises(ValueError, match='refine_level=3'):
        BFP(2, 3, refine_level=3)


def test_a_list_of_necks_is_chained_as_2x_libra_rcnn():
    from mmdet_lite.models import build_neck
    neck = build_neck([dict(type='FPN', in_channels=[2, 4], out_channels=4, num_outs=3),
                       dict(type='BFP', in_channels=4, num_levels=3, refine_level=1,
                            refine_type='conv')])
    assert 'neck.0' not in neck.state_dict() and '0.lateral_convs.0.conv.weight' in \
        neck.state_dict() and '1.refine.conv.weight' in neck.state_dict()
    neck.init_weights()  # reaches the inner necks (Xavier: zero biases)
    assert torch.all(neck[0].lateral_convs[0].conv.bias == 0)
    outs = neck([torch.randn(1, 2, 8, 8), torch.randn(1, 4, 4, 4)])
    assert [tuple(o.shape) for o in outs] == [(1, 4, 8, 8), (1, 4, 4, 4), (1, 4, 2, 2)]

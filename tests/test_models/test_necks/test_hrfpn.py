import pytest
import torch

from mmdet_lite.models.necks import HRFPN


def feats(n=1):
    return [torch.randn(n, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate((2, 4, 8, 16))]


def test_hrfpn_shapes_and_names():
    neck = HRFPN([2, 4, 8, 16], 8, num_outs=5, norm_cfg=dict(type='BN'))
    neck.init_weights()
    outs = neck(feats(2))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 32 // 2**i, 32 // 2**i) for i in range(5)]
    # 2.x never applies norm_cfg: a bias and no norm layer, as in its checkpoints
    assert set(neck.state_dict()) == {'reduction_conv.conv.weight', 'reduction_conv.conv.bias'} | {
        f'fpn_convs.{i}.conv.{p}' for i in range(5) for p in ('weight', 'bias')}


def test_hrfpn_with_cp_gives_same_values_and_gradients():
    torch.manual_seed(0)
    plain = HRFPN([2, 4, 8, 16], 4, num_outs=2)
    cp = HRFPN([2, 4, 8, 16], 4, num_outs=2, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = [f.requires_grad_() for f in feats()]
    a, b = plain(x), cp(x)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)
    sum(o.sum() for o in b).backward()
    assert cp.reduction_conv.conv.weight.grad is not None


def test_hrfpn_errors():
    with pytest.raises(ValueError, match='pooling_type'):
        HRFPN([2, 4], 4, pooling_type='SUM')
    with pytest.raises(ValueError, match='2 inputs'):
        HRFPN([2, 4], 4)(feats())

import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models import build_neck
from mmdet_lite.models.necks import FPN

IN_CHANNELS = [8, 16, 32, 64]


def _feats(batch=1, size=32):
    return [torch.randn(batch, c, size // 2**i, size // 2**i) for i, c in enumerate(IN_CHANNELS)]


@pytest.mark.parametrize('mode,extra_in', [(False, None), (True, 64), ('on_input', 64),
                                           ('on_lateral', 8), ('on_output', 8)])
def test_fpn_extra_convs_modes_shapes(mode, extra_in):
    neck = FPN(IN_CHANNELS, 8, num_outs=5, start_level=1, add_extra_convs=mode)
    outs = neck(_feats(batch=2))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4),
                                             (2, 8, 2, 2), (2, 8, 1, 1)]
    assert len(neck.lateral_convs) == 3
    if mode is False:
        assert len(neck.fpn_convs) == 3
    else:
        assert len(neck.fpn_convs) == 5
        assert neck.fpn_convs[3].conv.in_channels == extra_in
        assert neck.fpn_convs[3].conv.stride == (2, 2)
    assert neck.add_extra_convs == ('on_input' if mode is True else mode)


def test_fpn_matches_hand_written_top_down_path():
    torch.manual_seed(0)
    neck = FPN(IN_CHANNELS[:3], 4, num_outs=4, add_extra_convs='on_output',
               relu_before_extra_convs=True)
    neck.init_weights()
    feats = [torch.randn(1, c, s, s) for c, s in zip(IN_CHANNELS[:3], (15, 8, 4))]
    outs = neck(feats)
    lat = [F.conv2d(x, m.conv.weight, m.conv.bias) for x, m in zip(feats, neck.lateral_convs)]
    lat[1] = lat[1] + F.interpolate(lat[2], size=lat[1].shape[2:], mode='nearest')
    lat[0] = lat[0] + F.interpolate(lat[1], size=lat[0].shape[2:], mode='nearest')
    exp = [F.conv2d(x, m.conv.weight, m.conv.bias, padding=1)
           for x, m in zip(lat, neck.fpn_convs)]
    extra = neck.fpn_convs[3].conv
    exp.append(F.conv2d(exp[-1], extra.weight, extra.bias, stride=2, padding=1))
    for out, e in zip(outs, exp):
        torch.testing.assert_close(out, e)
    assert outs[0].shape[-2:] == (15, 15)


def test_fpn_relu_before_second_extra_conv():
    torch.manual_seed(0)
    neck = FPN(IN_CHANNELS, 8, num_outs=6, start_level=1, add_extra_convs='on_input',
               relu_before_extra_convs=True)
    outs = neck(_feats(size=64))
    conv = neck.fpn_convs[5].conv
    torch.testing.assert_close(outs[5], F.conv2d(F.relu(outs[4]), conv.weight, conv.bias,
                                                 stride=2, padding=1))


def test_fpn_max_pool_extra_levels_and_end_level():
    neck = FPN(IN_CHANNELS, 8, num_outs=5, add_extra_convs=False)
    outs = neck(_feats())
    torch.testing.assert_close(outs[4], F.max_pool2d(outs[3], 1, stride=2))
    neck = FPN(IN_CHANNELS, 8, num_outs=2, start_level=1, end_level=2)
    outs = neck(_feats())
    assert [o.shape[-1] for o in outs] == [16, 8]
    assert len(neck.lateral_convs) == 2


def test_fpn_norm_act_upsample_cfg_and_state_dict_names():
    neck = build_neck(dict(type='FPN', in_channels=IN_CHANNELS, out_channels=8, num_outs=4,
                           norm_cfg=dict(type='GN', num_groups=2), no_norm_on_lateral=True,
                           act_cfg=dict(type='ReLU'),
                           upsample_cfg=dict(scale_factor=2, mode='nearest')))
    keys = set(neck.state_dict())
    assert 'lateral_convs.0.conv.weight' in keys and 'lateral_convs.0.gn.weight' not in keys
    assert 'fpn_convs.0.gn.weight' in keys and 'fpn_convs.0.conv.bias' not in keys
    outs = neck(_feats())
    assert all(torch.all(o >= 0) for o in outs)
    plain = FPN(IN_CHANNELS, 8, num_outs=4)
    assert {'lateral_convs.0.conv.weight', 'lateral_convs.0.conv.bias',
            'fpn_convs.3.conv.weight'} <= set(plain.state_dict())


def test_fpn_bad_config_errors():
    with pytest.raises(ValueError, match='add_extra_convs'):
        FPN(IN_CHANNELS, 8, num_outs=5, add_extra_convs='on_top')
    with pytest.raises(ValueError, match='num_outs'):
        FPN(IN_CHANNELS, 8, num_outs=2)
    neck = FPN(IN_CHANNELS, 8, num_outs=4)
    with pytest.raises(ValueError, match='out_indices'):
        neck(_feats()[:3])

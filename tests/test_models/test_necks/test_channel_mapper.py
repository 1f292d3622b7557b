import pytest
import torch

from mmdet_lite.models.necks import ChannelMapper


def test_channel_mapper_extra_levels_and_errors():
    neck = ChannelMapper([4, 8], 6, num_outs=4)
    outs = neck([torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4)])
    assert [tuple(o.shape) for o in outs] == [(1, 6, 8, 8), (1, 6, 4, 4), (1, 6, 2, 2),
                                              (1, 6, 1, 1)]
    assert neck.extra_convs[0].conv.in_channels == 8 and neck.extra_convs[1].conv.in_channels == 6
    assert ChannelMapper([4, 8], 6).extra_convs is None
    with pytest.raises(ValueError, match='num_outs=1'):
        ChannelMapper([4, 8], 6, num_outs=1)

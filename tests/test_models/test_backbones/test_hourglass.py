import pytest
import torch

from mmdet_lite.models.backbones import HourglassNet

pytestmark = pytest.mark.usefixtures('one_thread')


def test_hourglass_stacks_shapes_and_layout():
    model = HourglassNet(downsample_times=2, num_stacks=2, stage_channels=(4, 8, 8),
                         stage_blocks=(2, 1, 1), feat_channel=6)
    model.init_weights()
    outs = model(torch.randn(2, 3, 33, 31))  # odd sizes: upsampling follows up1's size
    assert [tuple(o.shape) for o in outs] == [(2, 6, 9, 8), (2, 6, 9, 8)]
    module = model.hourglass_modules[0]
    assert isinstance(module.low2, type(module)) and module.low2.depth == 1
    # low3 keeps the input width until its last block, which has the shortcut conv
    assert module.low3[0].conv1.out_channels == 8 and module.low3[0].downsample is None
    assert module.low3[1].conv1.out_channels == 4 and module.low3[1].downsample is not None
    assert len(model.conv1x1s) == len(model.remap_convs) == 1
    assert len(HourglassNet(num_stacks=1, downsample_times=1, stage_channels=(4, 4),
                            stage_blocks=(1, 1)).inters) == 1  # 2.x builds one anyway


def test_hourglass_errors():
    with pytest.raises(ValueError, match='init_cfg'):
        HourglassNet(init_cfg=dict(type='Kaiming'))
    with pytest.raises(ValueError, match='downsample_times=5'):
        HourglassNet(stage_channels=(4, 4), stage_blocks=(1, 1))

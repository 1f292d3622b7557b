import pytest
import torch

from mmdet_lite.models.backbones import MobileNetV2
from mmdet_lite.models.utils import InvertedResidual, make_divisible

pytestmark = pytest.mark.usefixtures('one_thread')


def test_make_divisible():
    assert make_divisible(32, 8) == 32
    assert make_divisible(32 * 0.35, 8) == 16  # 11.2 → 8 loses over 10% → 16
    assert make_divisible(3, 8) == 8
    assert make_divisible(100, 8) == 104


def test_mobilenet_v2_shapes_widths_and_frozen():
    model = MobileNetV2(widen_factor=0.5, out_indices=range(8), frozen_stages=2)
    model.init_weights()
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    widths = (8, 16, 16, 32, 48, 80, 160, 1280)
    strides = (2, 4, 8, 16, 16, 32, 32, 32)
    assert [tuple(o.shape) for o in outs] == [(2, c, 64 // s, 64 // s)
                                              for c, s in zip(widths, strides)]
    assert not model.layer1[0].with_expand_conv and model.layer2[0].with_expand_conv
    assert not any(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer2.training and model.layer3.training
    assert MobileNetV2(widen_factor=1.5).conv2.conv.out_channels == 1920
    with pytest.raises(ValueError, match='out_indices'):
        MobileNetV2(out_indices=(8,))


def test_inverted_residual_shortcut_se_and_cp():
    block = InvertedResidual(8, 8, 16, se_cfg=dict(channels=16, ratio=4), with_cp=True)
    assert block.with_res_shortcut and block.with_se
    x = torch.randn(1, 8, 6, 6, requires_grad=True)
    block(x).sum().backward()
    assert x.grad is not None
    assert not InvertedResidual(8, 16, 16, stride=2).with_res_shortcut
    with pytest.raises(ValueError, match='mid_channels'):
        InvertedResidual(8, 8, 16, with_expand_conv=False)

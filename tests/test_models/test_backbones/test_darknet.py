import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet_lite.models.backbones import Darknet

pytestmark = pytest.mark.usefixtures('one_thread')
TINY = ((1, 1, 1), ((32, 8), (8, 16), (16, 32)))


def test_darknet53_layout_and_tiny_forward(monkeypatch):
    model = Darknet()  # 53: built, not run (62M weights)
    assert model.cr_blocks == ['conv1'] + [f'conv_res_block{i}' for i in range(1, 6)]
    assert len(model.conv_res_block4) == 1 + 8
    assert model.conv_res_block5.res3.conv2.conv.weight.shape == (1024, 512, 3, 3)
    monkeypatch.setitem(Darknet.arch_settings, 'tiny', TINY)
    tiny = Darknet(depth='tiny', out_indices=(0, 3))
    tiny.init_weights()
    outs = tiny(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 32), (2, 32, 4, 4)]


def test_darknet_frozen_stages_norm_eval_and_errors(monkeypatch):
    monkeypatch.setitem(Darknet.arch_settings, 'tiny', TINY)
    model = Darknet(depth='tiny', frozen_stages=2)
    model.train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.conv_res_block1.parameters())
    assert all(p.requires_grad for p in model.conv_res_block2.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    with pytest.raises(KeyError, match='invalid depth 21'):
        Darknet(depth=21)

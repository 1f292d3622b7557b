"""fuse_conv_relu: the same outputs as the unfused (BN-folded) modules, the state dict untouched,
the original forward wherever the fused op does not apply (training, autograd, NCHW), undo."""
import copy

import pytest
import torch
from torch import nn

from mmdet_lite.models.backbones import ResNet
from mmdet_lite.models.utils import ConvModule
from mmdet_lite.models.utils.fuse_conv_bn import fold_batch_norms
from mmdet_lite.models.utils.fuse_conv_relu import (ReLUFusedBasicBlock, ReLUFusedBottleneck,
                                                    ReLUFusedConvModule, fuse_conv_relu,
                                                    unfuse_conv_relu)
from tests.test_models.test_utils.test_fuse_conv_bn import _randomise_bn


def _nhwc(model: nn.Module) -> nn.Module:
    return model.to(memory_format=torch.channels_last)


@pytest.mark.parametrize('depth, block_type, num_blocks', [(18, ReLUFusedBasicBlock, 8),
                                                           (50, ReLUFusedBottleneck, 16)])
def test_fused_resnet_same_outputs_same_state_dict(depth, block_type, num_blocks):
    torch.manual_seed(0)
    model = ResNet(depth=depth, base_channels=4).eval()
    _randomise_bn(model)
    fold_batch_norms(model)
    _nhwc(model)
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        expected = model(x)
    state = copy.deepcopy(model.state_dict())
    assert fuse_conv_relu(model) == num_blocks
    assert type(model.layer1[0]) is block_type and type(model.layer4[-1]) is block_type
    fused_state = model.state_dict()
    assert list(fused_state) == list(state)
    assert all(torch.equal(fused_state[k], v) for k, v in state.items())
    with torch.no_grad():
        got = model(x)
    for a, b in zip(expected, got):
        assert b.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    # with autograd the original forward runs (same values, a graph to the input)
    x_grad = x.clone().requires_grad_()
    for a, b in zip(expected, model(x_grad)):
        assert b.requires_grad
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    assert unfuse_conv_relu(model) == num_blocks
    assert type(model.layer1[0]).__name__ in ('BasicBlock', 'Bottleneck')


def test_fused_conv_module_with_and_without_norm():
    torch.manual_seed(0)
    plain = ConvModule(6, 8, 3, padding=1)  # conv (with bias) + ReLU
    with_bn = ConvModule(6, 8, 3, stride=2, padding=1, norm_cfg=dict(type='BN'))
    no_act = ConvModule(6, 8, 1, act_cfg=None)
    model = _nhwc(nn.Sequential(plain, with_bn, no_act).eval())
    _randomise_bn(model)
    fold_batch_norms(model)
    x = torch.randn(2, 6, 9, 11).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = [m(x) for m in model]
    assert fuse_conv_relu(model) == 2  # not the one without an activation
    assert type(plain) is ReLUFusedConvModule and type(with_bn) is ReLUFusedConvModule
    assert type(no_act) is ConvModule
    with torch.no_grad():
        for module, ref in zip(model, expected):
            torch.testing.assert_close(module(x), ref, rtol=1e-4, atol=1e-4)
        # NCHW input and activate=False: the unfused path, same values
        torch.testing.assert_close(plain(x.contiguous()), expected[0], rtol=1e-4, atol=1e-4)
        assert (plain(x, activate=False) < 0).any()
    # training mode: BN normalises with batch statistics, as without fusion
    with_bn.train()
    reference = copy.deepcopy(with_bn)
    unfuse_conv_relu(reference)
    torch.testing.assert_close(with_bn(x), reference(x))


def test_unfolded_bn_is_not_fused():
    model = _nhwc(ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type='BN')).eval())
    assert fuse_conv_relu(model) == 0  # its BN still runs as a layer of its own

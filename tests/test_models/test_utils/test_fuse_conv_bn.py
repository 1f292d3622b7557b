"""fold_batch_norms: same outputs as BN after conv (checked against the unfolded model, an
independent computation), the state dict untouched, training mode unaffected, undo."""
import copy

import torch
from torch import nn

from mmdet_lite.models.backbones import ResNet
from mmdet_lite.models.utils import ConvModule
from mmdet_lite.models.utils.fuse_conv_bn import (FoldedBatchNorm2d, FoldedConv2d, count_folded,
                                                  fold_batch_norms, unfold_batch_norms)


def _randomise_bn(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-1, 1)


def test_fold_resnet_same_outputs_same_state_dict():
    torch.manual_seed(0)
    model = ResNet(depth=18, base_channels=8).eval()
    _randomise_bn(model)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
    state = copy.deepcopy(model.state_dict())
    # stem + 8 blocks x 2 convs + 3 downsample convs (Sequential(conv, bn))
    assert fold_batch_norms(model) == 20 == count_folded(model)
    assert fold_batch_norms(model) == 0  # already folded
    assert isinstance(model.layer1[0].conv1, FoldedConv2d)
    assert isinstance(model.layer2[0].downsample[1], FoldedBatchNorm2d)
    folded_state = model.state_dict()
    assert list(folded_state) == list(state)
    assert all(torch.equal(folded_state[k], v) for k, v in state.items())
    with torch.no_grad():
        got = model(x)
        got_nhwc = copy.deepcopy(model).to(memory_format=torch.channels_last)(x)
    for a, b, c in zip(expected, got, got_nhwc):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(c, a, rtol=1e-5, atol=1e-5)
    # new weights loaded after folding are used (the folded cache follows them)
    other = ResNet(depth=18, base_channels=8).eval()
    _randomise_bn(other)
    model.load_state_dict(other.state_dict())
    with torch.no_grad():
        for a, b in zip(other(x), model(x)):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    assert unfold_batch_norms(model) == 20 and count_folded(model) == 0
    assert type(model.layer1[0].conv1) is nn.Conv2d
    assert type(model.layer2[0].downsample[1]) is nn.BatchNorm2d


def test_fold_keeps_training_mode_and_gradients():
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
    _randomise_bn(ref)
    model = copy.deepcopy(ref)
    assert fold_batch_norms(model) == 1
    x = torch.randn(2, 3, 8, 8)
    # training mode: batch statistics, exactly as without folding
    torch.testing.assert_close(model.train()(x), ref.train()(x))
    # eval-mode BN inside a training model (norm_eval): folded, still differentiable
    model[1].eval()
    ref[1].eval()
    out, expected = model(x), ref(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    out.square().sum().backward()
    expected.square().sum().backward()
    for (name, a), b in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4, msg=name)


def test_fold_only_known_orders():
    # ConvModule with norm before conv: the BN normalises the input, not the conv's output
    pre_norm = ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                          order=('norm', 'conv', 'act'))
    post_norm = ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type='BN'))
    # GN and a conv whose weight is transformed in forward are left alone
    gn = ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type='GN', num_groups=2))
    holder = nn.Module()
    holder.conv1 = nn.Conv2d(4, 4, 1)
    holder.norm1_name = 'bn1'
    holder.bn1 = nn.BatchNorm2d(8)  # channels differ: not the conv's norm
    model = nn.ModuleList([pre_norm, post_norm, gn, holder]).eval()
    assert fold_batch_norms(model) == 1
    assert isinstance(post_norm.conv, FoldedConv2d)
    assert type(pre_norm.conv) is nn.Conv2d and type(holder.conv1) is nn.Conv2d
    x = torch.randn(1, 4, 6, 6)
    _randomise_bn(post_norm)
    with torch.no_grad():
        ref = copy.deepcopy(post_norm)
        unfold_batch_norms(ref)
        torch.testing.assert_close(post_norm(x), ref(x), rtol=1e-5, atol=1e-5)

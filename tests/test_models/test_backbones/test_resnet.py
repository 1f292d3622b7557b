import os

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet_lite.models import build_backbone
from mmdet_lite.models.backbones import ResNet
from mmdet_lite.models.backbones.resnet import BasicBlock, Bottleneck

# Tiny models: one torch thread (tests/conftest.py) avoids oversubscribing shared CPUs.
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('depth,expansion', [(18, 1), (34, 1), (50, 4), (101, 4), (152, 4)])
def test_resnet_output_shapes_every_depth(depth, expansion):
    torch.manual_seed(0)
    model = ResNet(depth, base_channels=8, out_indices=(0, 1, 2, 3))
    model.init_weights()
    model.train()
    outs = model(torch.randn(1, 3, 64, 96))
    assert len(outs) == 4
    for i, out in enumerate(outs):
        stride = 4 * 2**i
        assert out.shape == (1, 8 * 2**i * expansion, 64 // stride, 96 // stride)
    assert model.feat_dim == 8 * 8 * expansion


def test_resnet_state_dict_names_as_mmdet2():
    model = ResNet(50)
    keys = set(model.state_dict())
    for key in ('conv1.weight', 'bn1.running_var', 'layer1.0.conv1.weight',
                'layer1.0.bn3.weight', 'layer1.0.downsample.0.weight',
                'layer1.0.downsample.1.running_mean', 'layer4.2.conv3.weight'):
        assert key in keys
    assert 'layer1.1.downsample.0.weight' not in keys
    # Same names and shapes as torchvision's resnet50 minus the classifier.
    tv = torchvision.models.resnet50(weights=None).state_dict()
    assert {k: v.shape for k, v in tv.items() if not k.startswith('fc.')} == \
        {k: v.shape for k, v in model.state_dict().items()}


def test_resnet_options_stages_strides_dilations_stem_inchannels():
    model = ResNet(18, in_channels=1, stem_channels=16, base_channels=8, num_stages=3,
                   strides=(1, 2, 1), dilations=(1, 1, 2), out_indices=(2,))
    model.eval()
    (out,) = model(torch.randn(2, 1, 32, 32))
    # stride 4 * 1 * 2 * 1 = 8; dilation keeps the size.
    assert out.shape == (2, 32, 4, 4)
    assert model.conv1.weight.shape == (16, 1, 7, 7)
    assert model.layer3[0].conv1.dilation == (2, 2)
    assert not hasattr(model, 'layer4')


def test_resnet_style_caffe_moves_the_stride():
    pt = ResNet(50, base_channels=8, style='pytorch')
    caffe = ResNet(50, base_channels=8, style='caffe')
    assert pt.layer2[0].conv1.stride == (1, 1) and pt.layer2[0].conv2.stride == (2, 2)
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)


def test_resnet_bad_arguments_raise():
    with pytest.raises(KeyError, match='invalid depth'):
        ResNet(20)
    with pytest.raises(ValueError, match='out_indices'):
        ResNet(18, num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(3,))
    with pytest.raises(ValueError, match='one value per stage'):
        ResNet(18, strides=(1, 2))
    with pytest.raises(ValueError, match='style'):
        ResNet(50, style='tf')


def test_resnet_frozen_stages():
    model = ResNet(18, base_channels=8, frozen_stages=1)
    model.train()
    for m in (model.conv1, model.bn1, model.layer1):
        assert all(not p.requires_grad for p in m.parameters())
    for m in model.layer1.modules():
        if isinstance(m, _BatchNorm):
            assert not m.training
    assert all(p.requires_grad for p in model.layer2.parameters())
    # Frozen stem/layer1: their parameters get no gradient; later stages do.
    out = model(torch.randn(1, 3, 32, 32))[-1].sum()
    out.backward()
    assert model.conv1.weight.grad is None and model.layer1[0].conv1.weight.grad is None
    assert model.layer2[0].conv1.weight.grad is not None


def test_resnet_norm_eval_keeps_bn_statistics():
    torch.manual_seed(0)
    model = ResNet(18, base_channels=8, norm_eval=True)
    model.train()
    assert model.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = model.bn1.running_mean.clone()
    model(torch.randn(2, 3, 32, 32) + 3)
    assert torch.equal(model.bn1.running_mean, before)

    model = ResNet(18, base_channels=8, norm_eval=False)
    model.train()
    assert all(m.training for m in model.modules() if isinstance(m, _BatchNorm))
    model(torch.randn(2, 3, 32, 32) + 3)
    assert not torch.equal(model.bn1.running_mean, before)


def test_resnet_norm_cfg_gn_syncbn_requires_grad():
    model = ResNet(50, base_channels=8, norm_cfg=dict(type='GN', num_groups=4))
    assert isinstance(model.gn1, nn.GroupNorm) and isinstance(model.layer1[0].gn3, nn.GroupNorm)
    assert 'layer1.0.gn3.weight' in model.state_dict()
    model.eval()
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 32, 8, 8)
    model = ResNet(18, base_channels=8, norm_cfg=dict(type='SyncBN'))
    assert isinstance(model.bn1, nn.SyncBatchNorm)
    model = ResNet(18, base_channels=8, norm_cfg=dict(type='BN', requires_grad=False))
    assert not model.bn1.weight.requires_grad and model.conv1.weight.requires_grad


def test_resnet_with_cp_same_output_and_grads():
    torch.manual_seed(0)
    plain = ResNet(50, base_channels=8, norm_eval=False)
    plain.init_weights()
    ckpt = ResNet(50, base_channels=8, norm_eval=False, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    assert all(m.with_cp for m in ckpt.modules() if isinstance(m, Bottleneck))
    plain.eval(), ckpt.eval()
    x1 = torch.randn(1, 3, 32, 32, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    out1, out2 = plain(x1)[-1], ckpt(x2)[-1]
    torch.testing.assert_close(out1, out2)
    out1.sum().backward()
    out2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(plain.layer1[0].conv2.weight.grad,
                               ckpt.layer1[0].conv2.weight.grad)


def test_resnet_zero_init_residual():
    model = ResNet(18, base_channels=8, zero_init_residual=True)
    model.init_weights()
    assert all(torch.all(m.norm2.weight == 0) for m in model.modules()
               if isinstance(m, BasicBlock))
    model = ResNet(50, base_channels=8, zero_init_residual=True)
    model.init_weights()
    assert all(torch.all(m.norm3.weight == 0) for m in model.modules()
               if isinstance(m, Bottleneck))
    model = ResNet(50, base_channels=8, zero_init_residual=False)
    model.init_weights()
    assert all(torch.all(m.norm3.weight == 1) for m in model.modules()
               if isinstance(m, Bottleneck))


@pytest.mark.parametrize('depth', [18, 50])
def test_torchvision_state_dict_gives_identical_outputs(tmp_path, depth):
    torch.manual_seed(0)
    tv = getattr(torchvision.models, f'resnet{depth}')(weights=None)
    # Non-trivial BN statistics so the comparison is meaningful.
    for m in tv.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    path = str(tmp_path / f'resnet{depth}-0123abcd.pth')
    torch.save(tv.state_dict(), path)
    model = build_backbone(dict(type='ResNet', depth=depth, out_indices=(0, 1, 2, 3),
                                init_cfg=dict(type='Pretrained', checkpoint=path)))
    model.init_weights()
    model.eval()
    tv.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outs = model(x)
        y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        expected = []
        for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
            y = layer(y)
            expected.append(y)
    for out, exp in zip(outs, expected):
        torch.testing.assert_close(out, exp)


def test_pretrained_torchvision_uri_from_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path))
    model = ResNet(18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))
    with pytest.raises(FileNotFoundError) as err:
        model.init_weights()
    assert os.path.join(str(tmp_path), 'checkpoints', 'resnet18-<hash>.pth') in str(err.value)
    os.makedirs(tmp_path / 'checkpoints')
    tv = torchvision.models.resnet18(weights=None)
    torch.save(tv.state_dict(), str(tmp_path / 'checkpoints' / 'resnet18-f37072fd.pth'))
    model = ResNet(18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))
    model.init_weights()
    torch.testing.assert_close(model.layer3[1].conv2.weight, tv.layer3[1].conv2.weight)


def test_pretrained_wrong_checkpoint_errors(tmp_path):
    path = str(tmp_path / 'r18.pth')
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(KeyError, match='lacks'):
        ResNet(50, init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ResNet(18, pretrained=str(tmp_path / 'missing.pth')).init_weights()
    # A detector checkpoint: select the backbone with prefix.
    sd = {f'backbone.{k}': v for k, v in ResNet(18).state_dict().items()}
    torch.save({'state_dict': sd, 'meta': {}}, str(tmp_path / 'det.pth'))
    model = ResNet(18, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'det.pth'),
                                     prefix='backbone.'))
    model.init_weights()
    torch.testing.assert_close(model.conv1.weight, sd['backbone.conv1.weight'])

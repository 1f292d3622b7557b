"""optimize_for_inference / run_inference: settings recorded, the precision fallback said, the
channels_last fallback for models that .view feature maps. (Detections with the speed-ups on
against off: tests/test_tools/test_torchvision_parity.py.)"""
import logging

import pytest
import torch
from torch import nn

from mmdet_lite.apis import inference_speed as inference_speed_mod
from mmdet_lite.apis.inference_speed import optimize_for_inference, run_inference
from mmdet_lite.core.utils import precision as precision_mod
from mmdet_lite.models.backbones import ResNet


class _ViewsFeatures(nn.Module):
    """conv + BN, then ``.view(N, -1)`` of the feature map (NHWC strides forbid it)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))

    def forward(self, x):
        y = self.body(x)
        return y.view(y.size(0), -1)


def test_optimize_settings_and_channels_last_fallback():
    torch.manual_seed(0)
    model = _ViewsFeatures().eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    optimize_for_inference(model)  # CPU: BN folded, channels_last
    settings = model.inference_settings
    assert settings.folded_pairs == 1 and settings.channels_last
    assert settings.autocast_dtype is None
    assert model.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    with pytest.warns(UserWarning, match='NCHW'):
        out = run_inference(model, lambda: model(x))
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert not model.inference_settings.channels_last
    assert model.body[0].weight.is_contiguous()


def test_precision_fallback_is_logged(monkeypatch):
    monkeypatch.setattr(precision_mod, 'cpu_flags', lambda: frozenset({'avx512f'}))
    # the messages themselves, not a stream: mmengine's global logger may have been created
    # by an earlier test, bound to that test's captured stdout
    logged = []
    monkeypatch.setattr(inference_speed_mod, 'print_log',
                        lambda msg, logger=None, level=logging.INFO: logged.append((level, msg)))
    model = nn.Sequential(nn.Conv2d(3, 4, 1)).eval()
    optimize_for_inference(model, precision='bf16')
    assert any(level == logging.WARNING
               and msg.startswith('inference precision: running fp32 instead of bf16')
               for level, msg in logged), logged
    assert model.inference_settings.autocast_dtype is None
    conv_dtypes = []
    model[0].register_forward_hook(lambda m, i, o: conv_dtypes.append(o.dtype))
    assert run_inference(model, lambda: model(torch.randn(1, 3, 4, 4))).dtype is torch.float32
    # forced (accuracy studies): autocast although the CPU has no native bf16; the parts'
    # outputs come back as float32 for the post-processing
    forced = nn.Sequential(nn.Sequential(model[0])).eval()  # the part: the inner Sequential
    optimize_for_inference(forced, precision='bf16', force_precision=True)
    assert forced.inference_settings.autocast_dtype is torch.bfloat16
    assert run_inference(forced, lambda: forced(torch.randn(1, 3, 4, 4))).dtype is torch.float32
    assert conv_dtypes == [torch.float32, torch.bfloat16]


def test_optimize_fuses_relu_into_convs_on_cpu_only_with_channels_last():
    torch.manual_seed(0)
    model = ResNet(depth=18, base_channels=4).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
    optimize_for_inference(model)
    assert model.inference_settings.relu_fused == 8  # the 8 BasicBlocks
    for got, ref in zip(run_inference(model, lambda: model(x)), expected):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    for kwargs in (dict(fuse_relu=False), dict(channels_last=False)):
        other = optimize_for_inference(ResNet(depth=18, base_channels=4).eval(), **kwargs)
        assert other.inference_settings.relu_fused == 0

"""Training speed-ups (frozen BN folded, NHWC conv weights): same losses, gradients and state
dict as the plain model; the config key is checked; the runner applies them; a model that
``.view``s an NHWC map falls back to NCHW."""
import copy
import glob

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmdet_lite.engine import build_runner
from mmdet_lite.engine.training_speed import optimize_for_training, training_speed_options
from mmdet_lite.models import build_detector
from mmdet_lite.models.detectors.base import BaseDetector
from mmdet_lite.models.utils.fuse_conv_bn import FoldedConv2d
from tests.test_engine.toy import toy_cfg
from tests.test_models.test_detectors._two_stage_utils import (img_meta, synthetic_images,
                                                               tiny_mask_rcnn_cfg)


def test_options_default_and_errors():
    assert training_speed_options(None) == dict(fold_frozen_bn=True, channels_last=None)
    assert training_speed_options(dict(channels_last=False))['channels_last'] is False
    with pytest.raises(KeyError, match=r"training_speed in cfg.py: unknown key\(s\) \['fold_bn'\]"):
        training_speed_options(dict(fold_bn=True), 'cfg.py')
    with pytest.raises(TypeError, match="training_speed.fold_frozen_bn .* got 'yes'"):
        training_speed_options(dict(fold_frozen_bn='yes'))


def _frozen_bn_mask_rcnn() -> nn.Module:
    """The tiny Mask R-CNN with 2.x's ResNet defaults: stage 1 frozen, BN frozen (norm_eval)."""
    cfg = tiny_mask_rcnn_cfg()
    cfg['backbone'].update(frozen_stages=1, norm_eval=True,
                           norm_cfg=dict(type='BN', requires_grad=False))
    torch.manual_seed(0)
    model = build_detector(cfg)
    model.init_weights()
    return model.train()


def _losses_and_grads(model, imgs, metas, bboxes, labels, masks):
    torch.manual_seed(1)  # the same anchor / RoI sampling for both models
    losses = model.forward_train(imgs, metas, bboxes, labels, gt_masks=masks)
    total = sum(v if torch.is_tensor(v) else sum(v) for k, v in losses.items() if 'loss' in k)
    model.zero_grad()
    total.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    values = {k: sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k}
    return {k: float(v.detach()) for k, v in values.items()}, grads


def test_same_losses_gradients_and_state_dict():
    plain = _frozen_bn_mask_rcnn()
    fast = copy.deepcopy(plain)
    settings = optimize_for_training(fast, fold_frozen_bn=True, channels_last=True)
    # stem + 8 blocks' convs, the downsamples of stages 2-4; FPN / heads have no BN
    assert settings.folded_pairs == 1 + 8 * 2 + 3 and settings.channels_last
    assert fast.training_speed == settings
    assert type(fast.backbone.layer2[0].conv1) is FoldedConv2d
    assert fast.neck.fpn_convs[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    state, fast_state = plain.state_dict(), fast.state_dict()
    assert list(state) == list(fast_state)
    assert all(torch.equal(state[k], fast_state[k]) for k in state)

    imgs, bboxes, labels, masks, _ = synthetic_images(64, 96)
    metas = [img_meta(64, 96) for _ in range(2)]
    losses, grads = _losses_and_grads(plain, imgs, metas, bboxes, labels, masks)
    fast_losses, fast_grads = _losses_and_grads(fast, imgs, metas, bboxes, labels, masks)
    assert losses.keys() == fast_losses.keys()
    for key, value in losses.items():
        assert fast_losses[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    # frozen parameters get no gradient in either; the trained ones get the same
    assert grads.keys() == fast_grads.keys()
    assert not any(k.startswith('backbone.layer1.') or 'bn' in k for k in grads)
    for name, grad in grads.items():
        torch.testing.assert_close(fast_grads[name], grad, rtol=1e-4, atol=1e-5, msg=name)


def test_off_switches_leave_the_model_alone():
    model = _frozen_bn_mask_rcnn()
    settings = optimize_for_training(model, fold_frozen_bn=False, channels_last=False)
    assert settings == (0, False)
    assert not any(isinstance(m, FoldedConv2d) for m in model.modules())
    assert model.neck.fpn_convs[0].conv.weight.is_contiguous()


def test_runner_applies_the_config_key(tmp_path):
    runner = build_runner(Config(toy_cfg(str(tmp_path / 'a'))))
    expected_nhwc = not torch.cuda.is_available()
    assert runner.model.training_speed == (0, expected_nhwc)
    off = build_runner(Config(toy_cfg(str(tmp_path / 'b'), log_level='INFO',
                                      training_speed=dict(channels_last=False))))
    assert off.model.training_speed == (0, False)
    off.train()
    log = open(glob.glob(str(tmp_path / 'b' / '*' / '*.log'))[0]).read()
    assert 'training_speed: 0 (conv, BN) pairs fold while the BN is frozen, ' \
           'channels_last=False' in log
    with pytest.raises(KeyError, match='unknown key'):
        build_runner(Config(toy_cfg(str(tmp_path / 'c'), training_speed=dict(nhwc=True))))


class _ViewingDetector(BaseDetector):
    """A conv whose output is flattened with ``.view``, which NHWC strides forbid."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def extract_feat(self, img):
        return self.conv(img)

    def forward_train(self, img, img_metas, **kwargs):
        feat = self.extract_feat(img)
        return dict(loss_sum=feat.view(feat.size(0), -1).sum(1).mean())

    def simple_test(self, img, img_metas, **kwargs):
        return self.extract_feat(img).view(img.size(0), -1)

    def aug_test(self, imgs, img_metas, **kwargs):
        return self.simple_test(imgs[0], img_metas[0])


def test_view_of_an_nhwc_map_falls_back_to_nchw():
    torch.manual_seed(0)
    model = _ViewingDetector()
    img = torch.randn(2, 3, 5, 6)
    expected = model(img, [{}, {}], mode='loss')['loss_sum']
    optimize_for_training(model, channels_last=True)
    assert model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    with pytest.warns(UserWarning, match='NCHW conv weights from now on'):
        loss = model(img, [{}, {}], mode='loss')['loss_sum']
    torch.testing.assert_close(loss, expected)
    assert model.conv.weight.is_contiguous()
    loss.backward()
    assert model.conv.weight.grad is not None
    # other errors are not swallowed
    with pytest.raises(RuntimeError, match='expected input'):
        model(torch.randn(2, 4, 5, 6), [{}, {}], mode='loss')

"""FLOPs and parameters against hand counts."""
import pytest
import torch
from torch import nn

from mmdet_lite.analysis.flops import human_count, model_complexity, padded_input_shape


class _RoIHead(nn.Module):
    """Reached through a method, not ``__call__`` (as 2.x's ``roi_head.forward_dummy``)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 4, 1)

    def forward_dummy(self, x):
        return self.conv(x)


class _TinyDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3, padding=1)
        self.head = _RoIHead()

    def extract_feat(self, img):
        return self.backbone(img)

    def forward_dummy(self, img):
        return self.head.forward_dummy(self.extract_feat(img))


def test_flops_and_params_by_hand():
    model = _TinyDetector()
    info = model_complexity(model, (3, 16, 32))
    backbone = 2 * (3 * 9) * 8 * 16 * 32  # 2 FLOPs per multiply-add, per output element
    head = 2 * 8 * 4 * 16 * 32
    assert info['flops'] == backbone + head
    assert info['flops_per_module'] == {'backbone': backbone, 'head': head}
    assert info['params'] == (3 * 9 * 8 + 8) + (8 * 4 + 4)
    assert info['params_per_module'] == {'backbone': 3 * 9 * 8 + 8, 'head': 8 * 4 + 4}
    assert 'forward_dummy' in info['counted']
    assert model.training, 'the training flag must be restored'


def test_without_forward_dummy_counts_extract_feat_and_warns():
    model = _TinyDetector()
    model.forward_dummy = None
    with pytest.warns(UserWarning, match='only extract_feat'):
        info = model_complexity(model, (3, 8, 8))
    assert info['flops'] == 2 * 27 * 8 * 64


def test_shapes_and_formatting():
    assert padded_input_shape([1280, 800]) == (3, 1280, 800)
    assert padded_input_shape([100]) == (3, 128, 128)
    assert padded_input_shape([100, 50], size_divisor=0) == (3, 100, 50)
    with pytest.raises(ValueError, match='H, W'):
        padded_input_shape([1, 2, 3])
    assert human_count(2.5e9, 'FLOPs') == '2.50 GFLOPs'
    assert human_count(12) == '12'
    assert torch.is_grad_enabled()

"""The error policy (docs/migration.md, "Error types"): our precise type, and 2.x's type too."""
import pytest
import torch

from mmdet_lite.core.utils.errors import (ConfigKeyError, ConfigNotImplementedError,
                                          ConfigTypeError, ConfigValueError, UnsupportedTypeError,
                                          UnsupportedValueError, ValueTypeError)
from mmdet_lite.datasets.pipelines.transforms import RandomFlip
from mmdet_lite.models.backbones.regnet import RegNet
from mmdet_lite.models.backbones.resnet import BasicBlock
from mmdet_lite.models.losses import DiceLoss, L1Loss
from mmdet_lite.models.necks.channel_mapper import ChannelMapper


@pytest.mark.parametrize('cls, bases', [
    (ConfigValueError, (ValueError, AssertionError)),
    (ConfigTypeError, (TypeError, AssertionError)),
    (ConfigKeyError, (KeyError, AssertionError)),
    (ConfigNotImplementedError, (NotImplementedError, AssertionError)),
    (UnsupportedValueError, (ValueError, NotImplementedError)),
    (UnsupportedTypeError, (TypeError, NotImplementedError)),
    (ValueTypeError, (ValueError, TypeError)),
])
def test_each_error_is_both_types(cls, bases):
    err = cls('the message')
    assert all(isinstance(err, base) for base in bases)
    assert str(err) == 'the message'  # KeyError's quoting is not added


def test_a_value_check_is_a_value_error_and_an_assertion_error():
    with pytest.raises(AssertionError):  # as 2.x
        RandomFlip(flip_ratio=1.5)
    with pytest.raises(ValueError, match='flip_ratio must be in'):  # ours, with the message
        RandomFlip(flip_ratio=1.5)


def test_reduction_override_check():
    loss = L1Loss()
    pred, target = torch.rand(3, 4), torch.rand(3, 4)
    with pytest.raises(AssertionError):
        loss(pred, target, reduction_override=True)
    assert loss(pred, target, reduction_override='sum').ndim == 0


def test_unknown_arch_is_a_key_error_with_a_readable_message():
    with pytest.raises(KeyError) as info:
        RegNet('regnetx_400mf233')
    assert isinstance(info.value, AssertionError)
    assert str(info.value).startswith("RegNet arch 'regnetx_400mf233' is unknown")


def test_type_and_not_implemented_checks():
    with pytest.raises(AssertionError):
        ChannelMapper(in_channels=10, out_channels=4)
    with pytest.raises(TypeError):
        ChannelMapper(in_channels=10, out_channels=4)
    with pytest.raises(AssertionError):
        BasicBlock(8, 8, dcn=dict(type='DCN', deform_groups=1))
    with pytest.raises(NotImplementedError):
        BasicBlock(8, 8, dcn=dict(type='DCN', deform_groups=1))
    with pytest.raises(NotImplementedError):  # 2.x: NotImplementedError
        DiceLoss(use_sigmoid=False, activate=True)

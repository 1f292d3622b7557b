"""Checkpoint names, state-dict unwrapping and backbone loading of ``mmdet_lite.checkpoint``.

(Safe loading and atomic writes are tested in tests/test_engine/test_checkpoint.py.)
"""
import json
import os
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from torch import nn

from mmdet_lite.checkpoint import (load_checkpoint, load_pretrained, pretrained_init_cfg,
                                   resolve_checkpoint_path, unwrap_state_dict)


class TwoLayers(nn.Module):

    def __init__(self, width: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 1)
        self.bn1 = nn.BatchNorm2d(width)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache and mmengine home under ``tmp_path``."""
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine'))
    folder = tmp_path / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    return folder


def test_torchvision_name_prefers_the_file_of_its_url(hub):
    with pytest.raises(FileNotFoundError) as err:
        resolve_checkpoint_path('torchvision://resnet50')
    message = str(err.value)
    assert osp.join(str(hub), 'resnet50-<hash>.pth') in message
    assert 'https://download.pytorch.org/models/resnet50-0676ba61.pth' in message
    assert 'never downloads' in message
    torch.save({}, str(hub / 'resnet50-00000000.pth'))  # another release of the weights
    assert resolve_checkpoint_path('torchvision://resnet50') == str(hub / 'resnet50-00000000.pth')
    torch.save({}, str(hub / 'resnet50-0676ba61.pth'))
    assert resolve_checkpoint_path('torchvision://resnet50') == str(hub / 'resnet50-0676ba61.pth')


def test_open_mmlab_name_resolves_through_mmcv_table(hub, tmp_path):
    # mmcv 1.x's table: detectron2/resnet50_caffe -> .../resnet50_msra-5891d200.pth
    with pytest.raises(FileNotFoundError) as err:
        resolve_checkpoint_path('open-mmlab://detectron2/resnet50_caffe')
    assert str(hub / 'resnet50_msra-5891d200.pth') in str(err.value)
    assert 'https://download.openmmlab.com/' in str(err.value)
    torch.save({}, str(hub / 'resnet50_msra-5891d200.pth'))
    for name in ('open-mmlab://detectron2/resnet50_caffe', 'openmmlab://detectron2/resnet50_caffe'):
        assert resolve_checkpoint_path(name) == str(hub / 'resnet50_msra-5891d200.pth')
    # a 2.x name that mmcv renamed warns and resolves to the new one
    torch.save({}, str(hub / 'resnet50_caffe-788b5fa3.pth'))
    with pytest.warns(UserWarning, match='detectron/resnet50_caffe'):
        assert resolve_checkpoint_path('open-mmlab://resnet50_caffe') == str(
            hub / 'resnet50_caffe-788b5fa3.pth')
    with pytest.raises(KeyError, match='detectron2/resnet50_caffe'):
        resolve_checkpoint_path('open-mmlab://detectron2/resnet50_cafe')
    # the user's own table in mmengine home, with a path relative to it
    os.makedirs(tmp_path / 'mmengine')
    with open(tmp_path / 'mmengine' / 'open_mmlab.json', 'w') as f:
        json.dump({'mine': 'weights/mine.pth'}, f)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'mmengine' / 'weights')):
        resolve_checkpoint_path('open-mmlab://mine')


def test_url_and_local_path(hub, tmp_path):
    url = 'https://download.openmmlab.com/mmdetection/v2.0/x/model_20200101-abcdef12.pth'
    with pytest.raises(FileNotFoundError, match='model_20200101-abcdef12.pth'):
        resolve_checkpoint_path(url)
    torch.save({}, str(hub / 'model_20200101-abcdef12.pth'))
    assert resolve_checkpoint_path(url) == str(hub / 'model_20200101-abcdef12.pth')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        resolve_checkpoint_path(str(tmp_path / 'missing.pth'))
    assert resolve_checkpoint_path(str(hub / 'model_20200101-abcdef12.pth')) == str(
        hub / 'model_20200101-abcdef12.pth')


def test_unwrap_state_dict():
    weights = OrderedDict([('module.conv1.weight', torch.ones(1)), ('bn1.bias', torch.zeros(1))])
    weights._metadata = OrderedDict([('', {'version': 2})])
    for wrapped in (dict(state_dict=weights, meta={}), dict(model=weights), weights):
        got = unwrap_state_dict(wrapped)
        assert list(got) == ['conv1.weight', 'bn1.bias']
        assert got._metadata == {'': {'version': 2}}
    with pytest.raises(TypeError, match="'state_dict' is a list"):
        unwrap_state_dict(dict(state_dict=[1]), 'x.pth')


def test_load_checkpoint_by_cached_name(hub):
    src = TwoLayers()
    torch.save(dict(state_dict=src.state_dict(), meta=dict(CLASSES=('a', ))),
               str(hub / 'two_layers-0123abcd.pth'))
    dst = TwoLayers()
    ckpt = load_checkpoint(dst, 'torchvision://two_layers')
    assert ckpt['meta']['CLASSES'] == ('a', )
    torch.testing.assert_close(dst.conv1.weight, src.conv1.weight)


def test_load_pretrained_selects_prefix_and_names_mismatches(tmp_path):
    src = TwoLayers()
    detector = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    detector['neck.conv.weight'] = torch.zeros(1)
    path = str(tmp_path / 'det.pth')
    torch.save(dict(state_dict=detector), path)
    dst = TwoLayers()
    load_pretrained(dst, path, prefix='backbone.')
    torch.testing.assert_close(dst.bn1.running_var, src.bn1.running_var)
    with pytest.raises(KeyError, match="prefix 'head.'"):
        load_pretrained(dst, path, prefix='head.')
    with pytest.raises(KeyError, match=r"lacks 7 TwoLayers keys.*prefix='backbone.'"):
        load_pretrained(dst, path)
    torch.save(TwoLayers(width=4).state_dict(), path)
    with pytest.raises(ValueError, match=r"Wide.*'conv1.weight', \(4, 3, 1, 1\), \(3, 3, 1, 1\)"):
        load_pretrained(dst, path, owner='Wide')


def test_pretrained_init_cfg():
    pretrained = dict(type='Pretrained', checkpoint='x.pth')
    assert pretrained_init_cfg(pretrained) is pretrained
    assert pretrained_init_cfg([dict(type='Kaiming'), pretrained]) is pretrained
    assert pretrained_init_cfg(dict(type='Kaiming')) is None
    assert pretrained_init_cfg(None) is None

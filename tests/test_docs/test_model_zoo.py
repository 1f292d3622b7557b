"""docs/model_zoo.md is what tools/misc/gen_model_zoo.py makes from the registry and the
committed index of mmdetection 2.28's configs (so it cannot drift), and the pieces it is made
of read configs and state dicts correctly."""
import os.path as osp

from mmengine.config import Config

from mmdet_lite.analysis.model_zoo import (load_index, model_types, registered_types,
                                           render_page, state_dict_equal)
from tests.test_docs.markdown_blocks import REPO, load_tool

INDEX = osp.join(REPO, 'docs', 'data', 'mmdet228_configs.json')
PAGE = osp.join(REPO, 'docs', 'model_zoo.md')


def test_committed_page_is_the_generated_one(tmp_path):
    tool = load_tool('tools/misc/gen_model_zoo.py')
    page = render_page(load_index(INDEX), registered_types(), tool.PAGE_COMMAND)
    with open(PAGE) as f:
        assert f.read() == page, ('docs/model_zoo.md is out of date: run '
                                  'python tools/misc/gen_model_zoo.py page')
    assert tool.main(['page', '--check']) == 0
    stale = tmp_path / 'model_zoo.md'
    stale.write_text(page.replace('MaskRCNN', 'MaskRCNNX'))
    assert tool.main(['page', '--check', '--out', str(stale)]) == 1


def test_registered_types_by_role():
    types = registered_types()
    assert {'MaskRCNN', 'RetinaNet', 'FCOS', 'CascadeRCNN'} <= set(types['detector'])
    assert {'ResNet', 'ResNeXt', 'SwinTransformer'} <= set(types['backbone'])
    assert 'FPN' in types['neck'] and 'RPNHead' in types['dense_head']
    assert {'StandardRoIHead', 'Shared2FCBBoxHead', 'SingleRoIExtractor'} <= set(
        types['roi_head'])
    assert {'FocalLoss', 'CrossEntropyLoss'} <= set(types['loss'])
    every = [name for names in types.values() for name in names]
    assert len(every) == len(set(every)), 'a type is listed under two roles'


def test_model_types_of_a_2x_config():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mask_rcnn_r50_fpn_1x.py'))
    assert model_types(cfg.model) == dict(
        detector=['MaskRCNN'], backbone=['ResNet'], neck=['FPN'], dense_head=['RPNHead'],
        roi_head=['StandardRoIHead', 'SingleRoIExtractor', 'Shared2FCBBoxHead', 'FCNMaskHead'],
        loss=['CrossEntropyLoss', 'L1Loss'])


def test_state_dict_comparison_names_the_difference():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'retinanet_r50_fpn_1x.py'))
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    cfg.model.neck.out_channels = cfg.model.bbox_head.in_channels = 16
    cfg.model.bbox_head.feat_channels = 16
    import torch
    from mmdet_lite.models.builder import build_detector
    with torch.device('meta'):
        state = build_detector(cfg.model).state_dict()
    reference = [[k, list(v.shape)] for k, v in state.items()]
    assert state_dict_equal(cfg, reference) == (True, '')
    reference[0][1] = [1]
    equal, why = state_dict_equal(cfg, reference[:-1])
    assert not equal and why == 'state dict differs: 0 missing, 1 unexpected keys, 1 shapes'
    index = load_index(INDEX)
    assert len(index['configs']) > 500 and index['measured']

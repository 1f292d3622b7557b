"""as_config: the one private ConfigDict copy of a model component's config."""
import pytest
from mmengine.config import ConfigDict

from mmdet_lite.models.utils import as_config


def test_as_config_is_a_deep_attribute_access_copy():
    cfg = dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=[100])
    copy = as_config(cfg)
    assert isinstance(copy, ConfigDict) and isinstance(copy.nms, ConfigDict)
    assert copy == cfg
    copy.nms.iou_threshold = 0.1
    copy.max_per_img.append(1)
    assert cfg == dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=[100])
    assert as_config(ConfigDict(cfg)) == cfg
    assert as_config(None) is None


def test_as_config_copies_each_stage_of_a_list():
    stages = [dict(assigner=dict(pos_iou_thr=0.5)), dict(assigner=dict(pos_iou_thr=0.6))]
    copies = as_config(stages)
    assert isinstance(copies, list) and all(isinstance(c, ConfigDict) for c in copies)
    assert copies == stages
    copies[1].assigner.pos_iou_thr = 0.7
    assert stages[1]['assigner']['pos_iou_thr'] == 0.6


def test_as_config_refuses_a_non_dict_naming_it():
    with pytest.raises(TypeError, match="got list \\[1, 2\\]"):
        as_config([1, 2])
    with pytest.raises(TypeError, match='got float 0.5'):
        as_config(0.5)

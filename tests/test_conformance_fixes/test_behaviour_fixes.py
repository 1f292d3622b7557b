"""Behaviour that mmdetection 2.28's own unit tests showed to differ, fixed to 2.x's contract
(docs/migration.md, "mmdetection 2.28's unit tests"). Expected values worked out by hand from
2.x's documented behaviour."""
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.core.evaluation import eval_map
from mmdet_lite.core.mask import PolygonMasks
from mmdet_lite.core.utils import as_config
from mmdet_lite.core.visualization import color_val_matplotlib
from mmdet_lite.datasets import CustomDataset
from mmdet_lite.datasets.pipelines.loading import LoadImageFromFile
from mmdet_lite.datasets.pipelines.test_time_aug import MultiScaleFlipAug
from mmdet_lite.datasets.pipelines.transforms import Resize
from mmdet_lite.datasets.xml_style import XMLDataset
from mmdet_lite.models import dense_heads
from mmdet_lite.models.backbones.resnet import ResNet


def test_color_val_matplotlib_takes_bgr_like_mmcv_and_returns_rgb():
    assert color_val_matplotlib((1, 2, 3)) == (3 / 255, 2 / 255, 1 / 255)
    assert color_val_matplotlib(mmcv.Color.blue) == (0.0, 0.0, 1.0)
    assert color_val_matplotlib('red') == (1.0, 0.0, 0.0)
    assert color_val_matplotlib(100) == (100 / 255, ) * 3
    with pytest.raises(TypeError):
        color_val_matplotlib(1.0)


def test_empty_polygon_masks_crop_and_resize_to_an_empty_set():
    boxes = np.array([[0, 0, 10, 10]] * 5, dtype=np.float32)
    out = PolygonMasks([], 28, 28).crop_and_resize(boxes, (56, 56), np.zeros(5, dtype=int))
    assert len(out) == 0 and (out.height, out.width) == (56, 56)
    assert out.to_ndarray().shape == (0, 56, 56)


def test_polygon_masks_reject_a_float_index():
    masks = PolygonMasks([[np.array([0., 0., 4., 0., 4., 4.])]] * 2, 8, 8)
    assert len(masks[[0, 1]]) == 2
    with pytest.raises(ValueError, match='index'):
        masks[torch.tensor([1.0])]


@pytest.mark.parametrize('classes', [['b', 'a'], ('b', 'a')])
def test_given_classes_keep_their_type(classes):
    got = CustomDataset.get_classes(classes)
    assert type(got) is type(classes) and got == classes
    if isinstance(classes, list):
        assert got is not classes  # a copy: the dataset never shares the caller's list


def test_xml_subclass_without_classes_is_rejected_before_reading_files(tmp_path):

    class NoClasses(XMLDataset):
        CLASSES = None

    with pytest.raises(AssertionError, match='CLASSES=None'):  # and not FileNotFoundError
        NoClasses(ann_file=str(tmp_path / 'missing.txt'), pipeline=[])


def test_scales_given_as_one_flat_list_are_rejected():
    with pytest.raises(AssertionError, match=r'\[\(1333, 800\)\]'):
        Resize(img_scale=[1333, 800])
    with pytest.raises(AssertionError, match=r'\[\(1333, 800\)\]'):
        MultiScaleFlipAug(transforms=[], img_scale=[1333, 800])
    assert Resize(img_scale=[(1333, 800), (1333, 640)]).img_scale == [(1333, 800), (1333, 640)]
    assert MultiScaleFlipAug(transforms=[], img_scale=(1333, 800)).img_scale == [(1333, 800)]


def test_resnet_pretrained_must_be_a_path():
    with pytest.raises(TypeError, match='pretrained'):
        ResNet(18, pretrained=0)


def test_load_image_repr_names_file_client_args():
    assert repr(LoadImageFromFile()) == (
        "LoadImageFromFile(to_float32=False, color_type='color', channel_order='bgr', "
        "file_client_args={'backend': 'disk'})")


def test_dense_heads_all_lists_heads_only():
    for name in dense_heads.__all__:
        if name != 'FeatureAdaption':
            assert hasattr(getattr(dense_heads, name), 'simple_test'), name
    assert 'BBoxTestMixin' not in dense_heads.__all__
    assert dense_heads.BBoxTestMixin  # still importable by name


def test_eval_map_accepts_boxes_without_scores():
    # One class, two GTs; (n, 4) detections are ranked by their last column, as 2.x did:
    # [0, 0, 10, 30] (a miss) before [0, 0, 10, 10] (a hit) -> precision 0.5 at recall 0.5.
    dets = np.array([[0, 0, 10, 10], [0, 0, 10, 30]], dtype=np.float32)
    ann = dict(bboxes=np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32),
               labels=np.array([0, 0]))
    mean_ap, results = eval_map([[dets]], [ann], logger='silent')
    assert results[0]['num_dets'] == 2
    assert mean_ap == pytest.approx(0.25)


def test_as_config_reads_a_whole_config():
    cfg = as_config(Config(dict(assigner=dict(type='MaxIoUAssigner'), pos_weight=-1)))
    assert cfg.assigner.type == 'MaxIoUAssigner' and cfg.pos_weight == -1

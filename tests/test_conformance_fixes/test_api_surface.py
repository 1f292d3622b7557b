"""2.x names at their 2.x dotted paths (re-exports of one definition) and the 2.x helpers
mmdetection 2.28's unit tests call."""
import numpy as np
import pytest
import torch

import mmdet_lite
from mmdet_lite.core import mask2bbox
from mmdet_lite.core.bbox.assigners.assign_result import AssignResult
from mmdet_lite.core.bbox.samplers.sampling_result import SamplingResult
from mmdet_lite.datasets import ConcatDataset, get_loading_pipeline, replace_ImageToTensor
from mmdet_lite.datasets.pipelines.geometric import Rotate, Shear
from mmdet_lite import models
from mmdet_lite.models import losses
from mmdet_lite.models.backbones import ResNet
from mmdet_lite.models.backbones.pvt import PyramidVisionTransformer
from mmdet_lite.models.dense_heads.centernet_head import CenterNetTargets
from mmdet_lite.models.layers import DropBlock
from mmdet_lite.models.detectors.base import BaseDetector
from mmdet_lite.models.losses.iou_loss import BoundedIoULoss, CIoULoss, DIoULoss
from mmdet_lite.models.plugins import DropBlock as PluginDropBlock
from mmdet_lite.models.utils import sigmoid_geometric_mean
from mmdet_lite.models.utils.pretrained import init_cfg_with_pretrained


def test_names_at_their_2x_paths_are_the_one_definition():
    assert BoundedIoULoss is losses.BoundedIoULoss  # 2.x: mmdet.models.losses.iou_loss.*
    assert DIoULoss is losses.DIoULoss and CIoULoss is losses.CIoULoss
    assert callable(sigmoid_geometric_mean)  # the function, not its module
    assert mmdet_lite.digit_version('1.0.5') > mmdet_lite.digit_version('1.0.5rc0')
    assert models.Accuracy is losses.Accuracy and models.ResNet is ResNet  # 2.x's flat namespace


def test_parse_losses_2x_contract():

    class Dummy(BaseDetector):

        def extract_feat(self, img):
            return img

        def simple_test(self, img, img_metas, **kwargs):
            return []

        def aug_test(self, imgs, img_metas, **kwargs):
            return []

    losses_ = dict(loss_cls=torch.tensor([1.0, 3.0]), acc=torch.tensor(90.0),
                   loss_bbox=[torch.tensor(1.0), torch.tensor(2.0)])
    loss, log_vars = Dummy()._parse_losses(losses_)
    assert loss.item() == 5.0  # 2 + 3; 'acc' is logged, not summed
    assert list(log_vars) == ['loss_cls', 'acc', 'loss_bbox', 'loss']
    assert log_vars == dict(loss_cls=2.0, acc=90.0, loss_bbox=3.0, loss=5.0)


def test_pipeline_config_helpers():
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='MultiScaleFlipAug', img_scale=(64, 64),
                          transforms=[dict(type='ImageToTensor', keys=['img'])])]
    with pytest.warns(UserWarning, match='DefaultFormatBundle'):
        out = replace_ImageToTensor(test_pipeline)
    assert out[1]['transforms'] == [dict(type='DefaultFormatBundle')]
    assert test_pipeline[1]['transforms'][0]['type'] == 'ImageToTensor'  # not mutated
    train = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
             dict(type='Resize', img_scale=(64, 64))]
    assert get_loading_pipeline(train) == train[:2]


class _Part:

    def __init__(self, cat_ids):
        self.cat_ids, self.CLASSES = cat_ids, ('a', 'b')

    def __len__(self):
        return len(self.cat_ids)

    def get_cat_ids(self, idx):
        return self.cat_ids[idx]

    def get_ann_info(self, idx):
        return dict(labels=np.array(self.cat_ids[idx]))


def test_concat_dataset_reads_category_ids_of_its_parts():
    concat = ConcatDataset([_Part([[0], [1]]), _Part([[1, 0]])])
    assert [concat.get_cat_ids(i) for i in range(3)] == [[0], [1], [1, 0]]
    assert concat.get_ann_info(-1)['labels'].tolist() == [1, 0]


def test_magnitudes_and_pretrained_must_have_the_2x_types():
    with pytest.raises(AssertionError, match='max_rotate_angle must be a number'):
        Rotate(level=1, max_rotate_angle=(30, ))
    with pytest.raises(TypeError, match='max_shear_magnitude must be a number'):
        Shear(level=1, max_shear_magnitude=(0.5, ))
    with pytest.raises(TypeError, match='pretrained must be'):
        PyramidVisionTransformer(pretrained=123)
    assert init_cfg_with_pretrained('X', 'a.pth', None) == dict(type='Pretrained',
                                                                 checkpoint='a.pth')
    with pytest.raises(AssertionError, match='not both'):
        init_cfg_with_pretrained('X', 'a.pth', dict(type='Kaiming'))


@pytest.mark.parametrize('num_gts, num_preds', [(0, 0), (0, 3), (3, 3), (7, 64), (24, 3)])
def test_random_assign_and_sampling_results_are_consistent(num_gts, num_preds):
    assign = AssignResult.random(num_gts=num_gts, num_preds=num_preds, rng=0)
    assert assign.num_gts == num_gts and assign.num_preds == num_preds
    gt_inds = assign.gt_inds.numpy()
    assert ((gt_inds >= -1) & (gt_inds <= num_gts)).all()
    assert ((assign.max_overlaps.numpy() > 0) <= (gt_inds > 0)).all()  # overlap only if assigned
    sampled = SamplingResult.random(rng=1, num_gts=num_gts, num_preds=num_preds, num=8)
    assert len(sampled.pos_inds) + len(sampled.neg_inds) <= 8
    assert sampled.pos_gt_bboxes.shape == (len(sampled.pos_inds), 4)


def test_dense_head_targets_read_by_name_as_the_2x_dict():
    targets = CenterNetTargets(*(torch.zeros(1) + i for i in range(4)))
    assert targets['wh_target'] is targets.wh_target and targets[0] is targets[0]


def test_mask2bbox_and_plugin_paths():
    masks = torch.zeros(2, 10, 12, dtype=torch.bool)
    masks[0, 2:5, 3:8] = True  # rows 2-4, columns 3-7
    assert mask2bbox(masks).tolist() == [[3, 2, 8, 5], [0, 0, 0, 0]]
    assert mask2bbox(masks[:0]).shape == (0, 4)
    assert PluginDropBlock is DropBlock

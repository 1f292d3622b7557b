"""Faster R-CNN with soft-NMS in its RoI head (2.28's faster_rcnn_r50_fpn_soft_nms_1x_coco,
shrunk): ``simple_test`` equals mmdetection 2.28's on the same seeded weights and input
(fixtures: tests/data/mmdet2_soft_nms/faster_rcnn_soft_nms_<method>.npz, written by its
generate.py with mmcv's own soft-NMS kernel)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P

DATA = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data',
                'mmdet2_soft_nms')


@pytest.mark.parametrize('method', ['linear', 'gaussian'])
def test_faster_rcnn_soft_nms_equals_mmdet2(method):
    data = np.load(osp.join(DATA, f'faster_rcnn_soft_nms_{method}.npz'))
    fixture = {k: data[k] for k in data.files}
    fixture['checksums'] = dict(zip(json.loads(str(data['checksum_names'])), data['checksums']))
    cfg = Config.fromfile(osp.join(DATA, 'faster_rcnn_soft_nms.py'))
    cfg.model.test_cfg.rcnn.nms.method = method
    model = build_detector(cfg.model)
    P.check_weights(model, fixture['checksums'])
    model.eval()
    with torch.no_grad():
        result = model.simple_test(P.seeded_image(), [P.img_meta()], rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures

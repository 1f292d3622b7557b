"""The R-CNN family's ``simple_test`` against mmdetection 2.28 on the same seeded weights and
input (fixtures: tests/data/mmdet2_detectors/, written by its generate.py in the oracle venv).

Boxes within 0.01 px, scores within 1e-4, every mask IoU >= 0.99 (issue 10's tolerances).
"""
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P

CASES = ['cascade_rcnn', 'cascade_mask_rcnn', 'htc', 'fast_rcnn', 'ms_rcnn', 'grid_rcnn',
         'double_heads', 'scnet']


@pytest.mark.parametrize('case', CASES)
def test_simple_test_equals_mmdet2(case):
    fixture = P.load_fixture(case)
    model = build_detector(Config.fromfile(P.config_path(case)).model)
    P.check_weights(model, fixture['checksums'])
    img = P.seeded_image()
    torch.testing.assert_close(P.checksum(img), fixture['img_checksum'], check_dtype=False)
    model.eval()
    with torch.no_grad():
        result = model.simple_test(img, [P.img_meta()], proposals=P.proposals_of(fixture),
                                   rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures
    assert figures['min_mask_iou'] >= 0.99, figures

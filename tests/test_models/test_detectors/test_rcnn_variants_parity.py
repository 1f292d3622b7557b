"""Detectors of issue 10's second group (guided anchoring, ...) against mmdetection 2.28:
``simple_test`` on the same seeded weights and input (fixtures: tests/data/mmdet2_detectors/
<case>.npz, written by generate_rcnn_variants.py there in the oracle venv from the tiny config
<case>.py beside it).

Boxes within 0.01 px, scores within 1e-4, masks IoU >= 0.99 (the issue's tolerances).
"""
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P

CASES = ['ga_faster_rcnn', 'ga_retinanet', 'crpn_faster_rcnn', 'mask_rcnn_c4', 'sabl_faster_rcnn',
         'sabl_cascade_rcnn', 'sabl_retinanet', 'point_rend']


@pytest.mark.parametrize('case', CASES)
def test_simple_test_equals_mmdet2(case):
    fixture = P.load_fixture(case)
    model = build_detector(Config.fromfile(P.config_path(case)).model)
    P.check_weights(model, fixture['checksums'])
    img = P.seeded_image()
    torch.testing.assert_close(P.checksum(img), fixture['img_checksum'], check_dtype=False)
    model.eval()
    kwargs = {} if 'proposals' not in fixture else dict(proposals=P.proposals_of(fixture))
    with torch.no_grad():
        result = model.simple_test(img, [P.img_meta()], rescale=True, **kwargs)[0]
    figures = P.compare_results(result, fixture)
    print(case, figures)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures
    assert figures['min_mask_iou'] >= 0.99, figures

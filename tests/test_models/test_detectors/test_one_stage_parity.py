"""The one-stage detectors' ``simple_test`` against mmdetection 2.28 on the same seeded weights
and input (fixtures: tests/data/mmdet2_detectors/<case>.npz, written by generate_dense.py there
in the oracle venv from the tiny config <case>.py beside it).

Boxes within 0.01 px, scores within 1e-4 (issue 12's tolerances).
"""
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P

CASES = ['fcos', 'fcos_imprv', 'atss', 'gfl', 'vfnet', 'tood', 'tood_anchor_based',
         'reppoints', 'reppoints_grid', 'reppoints_partial_minmax', 'fovea', 'fovea_align',
         'paa', 'nasfcos', 'fsaf', 'free_anchor', 'autoassign', 'ddod', 'yolof', 'ld', 'lad']


@pytest.mark.parametrize('case', CASES)
def test_simple_test_equals_mmdet2(case):
    fixture = P.load_fixture(case)
    model = build_detector(Config.fromfile(P.config_path(case)).model)
    P.check_weights(model, fixture['checksums'])
    img = P.seeded_image()
    torch.testing.assert_close(P.checksum(img), fixture['img_checksum'], check_dtype=False)
    model.eval()
    with torch.no_grad():
        result = model.simple_test(img, [P.img_meta()], rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures

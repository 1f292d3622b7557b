"""Detectors on the ResNet family's features give mmdetection 2.28's ``simple_test`` results on
the same seeded weights and input: ResNeXt with grouped DCN and ContextBlocks plus deformable RoI
pooling, and RegNet with DCNv2 and GroupNorm everywhere (fixtures:
tests/data/mmdet2_detectors/, written by generate_resnet_family.py in the oracle venv).
Tolerances as the R-CNN family's: boxes within 0.01 px, scores within 1e-4, mask IoU >= 0.99."""
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('case', ['faster_rcnn_x50_dconv_gcb_dpool',
                                  'mask_rcnn_regnet_mdconv_gn_all'])
def test_simple_test_equals_mmdet2(case):
    fixture = P.load_fixture(case)
    model = build_detector(Config.fromfile(P.config_path(case)).model)
    P.check_weights(model, fixture['checksums'])
    model.eval()
    with torch.no_grad():
        result = model.simple_test(P.seeded_image(), [P.img_meta()], rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures
    assert figures['min_mask_iou'] >= 0.99, figures

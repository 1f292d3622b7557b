"""The real-time one-stage detectors' ``simple_test`` against mmdetection 2.28 on the same seeded
weights and input (fixtures: tests/data/mmdet2_realtime/, written by its generate.py in the
oracle venv from the tiny configs beside them).

Boxes within 0.01 px, scores within 1e-4 (issue 12's tolerances).
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P
from ._realtime_weights import lively_weights

FIXTURE_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data',
                       'mmdet2_realtime')
CASES = ['yolov3', 'yolox', 'yolox_dw', 'ssd_vgg', 'ssdlite', 'centernet', 'cornernet',
         'centripetalnet']


def _load(case: str) -> dict:
    data = np.load(osp.join(FIXTURE_DIR, f'{case}.npz'))
    out = {k: data[k] for k in data.files}
    out['checksums'] = dict(zip(json.loads(str(data['checksum_names'])), data['checksums']))
    return out


def _load_weights(model: torch.nn.Module, cfg: Config, checksums: dict) -> None:
    """The fixture's weights (seeded, predictor gains applied), checked against the 2.28
    model's state-dict names, shapes and value checksums, loaded strictly."""
    weights = lively_weights(model, P.fixture_weights(model), cfg.get('parity_gains', {}))
    missing = sorted(set(checksums) - set(weights))
    unexpected = sorted(set(weights) - set(checksums))
    assert not missing and not unexpected, \
        f'state dict differs from 2.28: missing {missing[:5]}, unexpected {unexpected[:5]}'
    for k, v in weights.items():
        np.testing.assert_allclose(P.checksum(v), checksums[k], rtol=1e-6, atol=1e-6,
                                   err_msg=f'{k}: shape or seeded values differ from 2.28')
    model.load_state_dict(weights, strict=True)


@pytest.mark.parametrize('case', CASES)
def test_simple_test_equals_mmdet2(case):
    fixture = _load(case)
    cfg = Config.fromfile(osp.join(FIXTURE_DIR, f'{case}.py'))
    model = build_detector(cfg.model)
    _load_weights(model, cfg, fixture['checksums'])
    img = P.seeded_image()
    torch.testing.assert_close(P.checksum(img), fixture['img_checksum'], check_dtype=False)
    meta = P.img_meta()
    if cfg.get('parity_border') is not None:
        # CenterNet's test-time RandomCenterCropPad padding (top, bottom, left, right)
        meta['border'] = np.array(cfg.parity_border, dtype=np.float32)
    model.eval()
    with torch.no_grad():
        result = model.simple_test(img, [meta], rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures

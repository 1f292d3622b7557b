"""Write ``<case>.npz``: mmdetection 2.28's ``simple_test`` detections for each tiny one-stage
detector config ``<case>.py`` of this folder (read by
tests/test_models/test_detectors/test_one_stage_parity.py).

A development tool, not run by the tests: it needs mmdetection 2.28 in its own venv
(``../shared/mmdet2_oracle/setup.sh``). From the repository root::

    /tmp/mmdet2_venv/bin/python tests/data/mmdet2_detectors/generate_dense.py [CASE ...]

Cases with deformable convs (VFNet, RepPoints, TOOD's deform sampling) need the oracle shim
with DCN forward kernels: ``MMDET2_SHIM=/work/notes/oracle_shim_dcn`` (helper B1's copy of the
shared shim, deformable conv v1/v2 forward through ``torchvision.ops.deform_conv2d``).

Weights and input image come from tests/test_models/mmdet2_detector_parity.py, the same
functions the test calls; the fixture stores checksums instead of weights.
"""
import os
import sys
import warnings

warnings.filterwarnings('ignore')
ORACLE_SHIM = os.environ.get('MMDET2_SHIM', '/work/shared/mmdet2_oracle/mmdet2_shim')
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ORACLE_SHIM)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))

import mmcv_ops_shim  # noqa: E402

mmcv_ops_shim.install()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmcv import Config  # noqa: E402
from mmdet.models import build_detector  # noqa: E402

from tests.test_models import mmdet2_detector_parity as P  # noqa: E402

# the tiny one-stage configs of this folder (the cases of test_one_stage_parity.py)
CASES = ['fcos', 'fcos_imprv', 'atss', 'gfl', 'vfnet', 'tood', 'tood_anchor_based',
         'reppoints', 'reppoints_grid', 'reppoints_partial_minmax', 'fovea', 'fovea_align',
         'paa', 'nasfcos', 'fsaf', 'free_anchor', 'autoassign', 'ddod', 'yolof', 'ld', 'lad']


def generate(case: str) -> None:
    cfg = Config.fromfile(P.config_path(case))
    model = build_detector(cfg.model)
    model.load_state_dict(P.fixture_weights(model), strict=True)
    model.eval()
    with torch.no_grad():
        result = model.simple_test(P.seeded_image(), [P.img_meta()], rescale=True)[0]
    out = os.path.join(HERE, f'{case}.npz')
    arrays = P.fixture_arrays(model, result, None)
    np.savez_compressed(out, **arrays)
    num = sum(len(v) for k, v in arrays.items() if k.startswith('bbox_'))
    print(f'{case}: {num} detections -> {out} ({os.path.getsize(out) // 1024} KB)')


if __name__ == '__main__':
    for name in sys.argv[1:] or CASES:
        generate(name)

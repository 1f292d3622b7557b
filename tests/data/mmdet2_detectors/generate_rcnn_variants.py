"""Write ``<case>.npz``: mmdetection 2.28's ``simple_test`` detections for the tiny configs
``<case>.py`` of this folder that belong to issue 10's second group (guided anchoring, Cascade
RPN, SABL, PointRend, TridentNet, C4 heads); read by
tests/test_models/test_detectors/test_rcnn_variants_parity.py.

A development tool, not run by the tests: it needs mmdetection 2.28 in its own venv
(``../shared/mmdet2_oracle/setup.sh``) and a copy of the oracle shim with the kernels these
families call: deformable conv v1/v2 forward (FeatureAdaption, Cascade RPN's adaptive conv) and
masked conv (guided anchoring), e.g. helper R2's ``/work/notes/r2/oracle_shim``. From the
repository root::

    MMDET2_SHIM=/work/notes/r2/oracle_shim \
        /tmp/mmdet2_venv/bin/python tests/data/mmdet2_detectors/generate_rcnn_variants.py [CASE ...]

Weights and input image come from tests/test_models/mmdet2_detector_parity.py, the same
functions the test calls; the fixture stores checksums instead of weights.
"""
import os
import sys
import warnings

warnings.filterwarnings('ignore')
ORACLE_SHIM = os.environ.get('MMDET2_SHIM', '/work/notes/r2/oracle_shim')
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

CASES = ['ga_faster_rcnn', 'ga_retinanet', 'crpn_faster_rcnn', 'mask_rcnn_c4', 'sabl_faster_rcnn',
         'sabl_cascade_rcnn', 'sabl_retinanet', 'point_rend']


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

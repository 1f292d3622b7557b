"""Write ``<case>.npz``: mmdetection 2.28's ``simple_test`` detections for each tiny one-stage
detector config ``<case>.py`` of this folder (read by
tests/test_models/test_detectors/test_realtime_parity.py).

A development tool, not run by the tests: it needs mmdetection 2.28 in its own venv
(``../shared/mmdet2_oracle/setup.sh``). From the repository root::

    /tmp/mmdet2_venv/bin/python tests/data/mmdet2_realtime/generate.py [CASE ...]

``centripetalnet`` has deformable convs: run it with the shim copy that has DCN kernels,
``MMDET2_SHIM=/work/notes/oracle_shim_dcn`` (helper B1's, torchvision's deform_conv2d).

Weights, input image and meta come from tests/test_models/mmdet2_detector_parity.py (seeded
weights, with the predictor gains ``parity_gains`` of each config applied by
tests/test_models/test_detectors/_realtime_weights.py), the same functions the test calls; the
fixture stores checksums instead of weights.
"""
import glob
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
from tests.test_models.test_detectors._realtime_weights import lively_weights  # noqa: E402

CASES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, '*.py'))
               if not p.endswith('generate.py'))


def generate(case: str) -> None:
    cfg = Config.fromfile(os.path.join(HERE, f'{case}.py'))
    model = build_detector(cfg.model)
    weights = lively_weights(model, P.fixture_weights(model), cfg.get('parity_gains', {}))
    model.load_state_dict(weights, strict=True)
    model.eval()
    meta = P.img_meta()
    if cfg.get('parity_border') is not None:
        meta['border'] = np.array(cfg.parity_border, dtype=np.float32)
    with torch.no_grad():
        result = model.simple_test(P.seeded_image(), [meta], rescale=True)[0]
    out = os.path.join(HERE, f'{case}.npz')
    arrays = P.fixture_arrays(model, result, None)
    np.savez_compressed(out, **arrays)
    num = sum(len(v) for k, v in arrays.items() if k.startswith('bbox_'))
    print(f'{case}: {num} detections -> {out} ({os.path.getsize(out) // 1024} KB)')


if __name__ == '__main__':
    for name in sys.argv[1:] or CASES:
        generate(name)

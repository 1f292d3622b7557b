"""Write ``reference.npz``: inputs and mmcv 1.7's / mmdetection 2.28's outputs of soft-NMS
(``mmcv.ops.soft_nms``, ``batched_nms`` and ``multiclass_nms`` with ``type='soft_nms'``) and
``nms_match`` (read by tests/test_core/test_post_processing/test_soft_nms.py and
test_nms_match.py); and ``faster_rcnn_soft_nms_<method>.npz``: 2.28's ``simple_test`` of the tiny
detector ``faster_rcnn_soft_nms.py`` (linear and gaussian soft-NMS in its RoI head; weights, input
and fixture layout of tests/test_models/mmdet2_detector_parity.py; read by
tests/test_models/test_detectors/test_soft_nms_parity.py).

A development tool, not run by the tests: it needs mmdetection 2.28 in its own venv
(``../shared/mmdet2_oracle/setup.sh``) and a C++ compiler. The oracle's shim has no soft-NMS
kernel, so this compiles mmcv's own CPU kernels (``softnms_cpu`` and ``nms_match_cpu`` of the
venv's ``mmcv/ops/csrc/pytorch/cpu/nms.cpp``, unchanged) with
``torch.utils.cpp_extension.load_inline`` and installs them into mmcv's extension module.
From the repository root (the first run compiles for about a minute)::

    /tmp/mmdet2_venv/bin/python tests/data/mmdet2_soft_nms/generate.py
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

import mmcv  # noqa: E402
import mmcv.ops  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmcv import Config  # noqa: E402
from mmdet.core import multiclass_nms  # noqa: E402
from mmdet.models import build_detector  # noqa: E402
from torch.utils.cpp_extension import load_inline  # noqa: E402

from tests.test_models import mmdet2_detector_parity as P  # noqa: E402

OUT = os.path.join(HERE, 'reference.npz')
BUILD = os.environ.get('SOFT_NMS_BUILD', '/tmp/mmcv_softnms_kernel')


def _mmcv_kernels():
    """mmcv's softnms_cpu and nms_match_cpu, compiled from the installed mmcv's source."""
    path = os.path.join(os.path.dirname(mmcv.__file__), 'ops', 'csrc', 'pytorch', 'cpu',
                        'nms.cpp')
    src = open(path).read()
    parts = []
    for start, end in (('Tensor softnms_cpu(', 'Tensor softnms_impl('),
                       ('std::vector<std::vector<int> > nms_match_cpu(',
                        'std::vector<std::vector<int> > nms_match_impl(')):
        parts.append(src[src.index(start):src.index(end)])
    os.makedirs(BUILD, exist_ok=True)
    return load_inline('mmcv_softnms_kernel',
                       cpp_sources=['#include <torch/extension.h>\nusing at::Tensor;\n' +
                                    '\n'.join(parts)],
                       functions=['softnms_cpu', 'nms_match_cpu'], build_directory=BUILD,
                       extra_cflags=['-O2'])


kernels = _mmcv_kernels()
ext = sys.modules['mmcv.ops.nms'].ext_module  # mmcv.ops.nms is also a function's name
ext.softnms = lambda boxes, scores, dets, iou_threshold, sigma, min_score, method, offset: \
    kernels.softnms_cpu(boxes, scores, dets, iou_threshold, sigma, min_score, method, offset)
ext.nms_match = lambda dets, iou_threshold: kernels.nms_match_cpu(dets, iou_threshold)

data = {}


def put(case, **arrays):
    for name, value in arrays.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        data[f'{case}/{name}'] = np.asarray(value)


def boxes(g, n, size=60., min_wh=4., max_wh=30.):
    xy = torch.rand(n, 2, generator=g) * size
    wh = min_wh + torch.rand(n, 2, generator=g) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1)


g = torch.Generator().manual_seed(2028)

# --- soft_nms on one set of boxes ---------------------------------------------------------
b = boxes(g, 40)
b[20:30] = b[:10] + torch.rand(10, 4, generator=g)  # near duplicates
s = torch.rand(40, generator=g)
ties = (torch.randint(0, 4, (40, ), generator=g).float() + 1) / 4  # many equal scores
put('single', boxes=b, scores=s, ties=ties)
cases = dict(linear=dict(method='linear', iou_threshold=0.3, sigma=0.5, min_score=1e-3),
             gaussian=dict(method='gaussian', iou_threshold=0.3, sigma=0.5, min_score=0.05),
             naive=dict(method='naive', iou_threshold=0.4, sigma=0.5, min_score=1e-3),
             offset=dict(method='linear', iou_threshold=0.5, sigma=0.5, min_score=0.1, offset=1),
             high_min=dict(method='gaussian', iou_threshold=0.5, sigma=0.1, min_score=0.3))
for name, kwargs in cases.items():
    dets, inds = mmcv.ops.soft_nms(b, s, **kwargs)
    put(f'single_{name}', dets=dets, inds=inds)
    dets, inds = mmcv.ops.soft_nms(b, ties, **kwargs)
    put(f'ties_{name}', dets=dets, inds=inds)
# the docstring example of mmcv.ops.soft_nms, with degenerate (zero-area) boxes
doc_boxes = np.array([[4., 3., 5., 3.], [4., 3., 5., 4.], [3., 1., 3., 1.], [3., 1., 3., 1.],
                      [3., 1., 3., 1.], [3., 1., 3., 1.]], dtype=np.float32)
doc_scores = np.array([0.9, 0.9, 0.5, 0.5, 0.4, 0.0], dtype=np.float32)
dets, inds = mmcv.ops.soft_nms(doc_boxes, doc_scores, 0.6, sigma=0.5)
put('doc', boxes=doc_boxes, scores=doc_scores, dets=dets, inds=inds)

# --- multiclass_nms with soft_nms, as the test_cfg of the cascade / HTC configs --------------
num_classes = 4
mb = boxes(g, 60, size=100.)
mb[30:] = mb[:30] + torch.rand(30, 4, generator=g) * 4
ms = torch.rand(60, num_classes + 1, generator=g)
class_boxes = torch.cat([mb + torch.rand(60, 4, generator=g) for _ in range(num_classes)], 1)
put('multiclass', boxes=mb, scores=ms, class_boxes=class_boxes)
mc_cases = dict(
    linear=dict(type='soft_nms', iou_threshold=0.5, min_score=0.05),
    gaussian=dict(type='soft_nms', iou_threshold=0.5, method='gaussian'),
    split=dict(type='soft_nms', iou_threshold=0.5, method='gaussian', split_thr=20),
    agnostic=dict(type='soft_nms', iou_threshold=0.5, class_agnostic=True))
for name, nms_cfg in mc_cases.items():
    dets, labels = multiclass_nms(mb, ms, 0.05, nms_cfg, max_num=100)
    put(f'multiclass_{name}', dets=dets, labels=labels)
dets, labels, inds = multiclass_nms(class_boxes, ms, 0.3, mc_cases['gaussian'], max_num=25,
                                    return_inds=True)
put('multiclass_class_boxes', dets=dets, labels=labels, inds=inds)

# --- nms_match (the grouping of ScoreHLRSampler) ------------------------------------------
for name, scores_ in (('plain', s), ('ties', ties)):
    groups = mmcv.ops.nms_match(torch.cat([b, scores_[:, None]], 1), 0.5)
    put(f'nms_match_{name}', flat=torch.cat(groups),
        sizes=torch.tensor([len(x) for x in groups]))

np.savez_compressed(OUT, **data)
print(f'wrote {len(data)} arrays to {OUT} ({os.path.getsize(OUT) / 1024:.1f} KiB)')

# --- a whole detector: Faster R-CNN whose RoI head runs soft-NMS ----------------------------
for method in ('linear', 'gaussian'):
    cfg = Config.fromfile(os.path.join(HERE, 'faster_rcnn_soft_nms.py'))
    cfg.model.test_cfg.rcnn.nms.method = method
    model = build_detector(cfg.model)
    model.load_state_dict(P.fixture_weights(model), strict=True)
    model.eval()
    with torch.no_grad():
        result = model.simple_test(P.seeded_image(), [P.img_meta()], rescale=True)[0]
    out = os.path.join(HERE, f'faster_rcnn_soft_nms_{method}.npz')
    np.savez_compressed(out, **P.fixture_arrays(model, result, None))
    print(f'{method}: {sum(len(r) for r in result)} detections -> {out} '
          f'({os.path.getsize(out) // 1024} KB)')

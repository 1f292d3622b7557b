"""Write ``<case>.npz`` for the ResNet-family detector configs of this folder (DCN, grouped DCN,
ContextBlock, deformable RoI pooling, RegNet, GN everywhere, TridentNet); read by
tests/test_models/test_detectors/test_resnet_family_detector_parity.py. As generate.py, in the
oracle's venv, but with a copy of the oracle's shim whose deformable conv / RoI pooling kernels
are implemented (``MMDET2_SHIM``, default /work/notes/oracle_shim_dcn)::

    MMDET2_SHIM=/path/to/shim /tmp/mmdet2_venv/bin/python \\
        tests/data/mmdet2_detectors/generate_resnet_family.py [CASE ...]
"""
import os
import sys

os.environ.setdefault('MMDET2_SHIM', '/work/notes/oracle_shim_dcn')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import generate  # noqa: E402

CASES = dict(faster_rcnn_x50_dconv_gcb_dpool=False, mask_rcnn_regnet_mdconv_gn_all=False,
             trident_faster_rcnn=False)

if __name__ == '__main__':
    for name in sys.argv[1:] or list(CASES):
        generate(name, CASES[name])

"""Shared by tools/train.py and tools/test.py: honour ``--device cpu`` before torch starts."""
import os
import sys


def force_cpu_if_asked(argv=None) -> None:
    """``--device cpu`` hides the GPUs; must run before torch/mmengine are imported because
    mmengine fixes its device when it is imported."""
    argv = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(argv):
        value = arg.split('=', 1)[1] if arg.startswith('--device=') else (
            argv[i + 1] if arg == '--device' and i + 1 < len(argv) else None)
        if value == 'cpu':
            os.environ['CUDA_VISIBLE_DEVICES'] = ''

"""One entry point from a config + an exported graph + a backend name to a backend detector
(``tools/deployment/test.py``, the benchmark, user code)."""
import os.path as osp
from pathlib import Path
from typing import Dict, Optional, Sequence, Type, Union

from mmengine.config import Config

from ..apis import load_config
from .backend_detector import BackendDetector
from .onnxruntime_detector import ONNXRuntimeDetector
from .openvino_detector import OpenVINODetector

BACKENDS: Dict[str, Type[BackendDetector]] = {
    'onnxruntime': ONNXRuntimeDetector,
    'openvino': OpenVINODetector,
}


def build_backend_detector(config: Union[str, Path, Config], model_file: str,
                           backend: str = 'onnxruntime',
                           class_names: Optional[Sequence[str]] = None,
                           device: str = 'cpu', num_threads: Optional[int] = None,
                           cfg_options: Optional[dict] = None) -> BackendDetector:
    """The backend detector of ``model_file``, in eval mode, with ``cfg`` set (so that
    ``inference_detector(detector, img)`` and ``single_gpu_test`` run it).

    Args:
        config: the config the graph was exported from (path or Config; not modified).
        model_file: the exported ``.onnx`` graph.
        backend: ``'onnxruntime'`` or ``'openvino'``.
        class_names: class names when the graph's metadata has none.
        device: ``'cpu'`` (``'cuda[:N]'`` for onnxruntime-gpu).
        num_threads: intra-op threads; None: the engine's default (every core).
        cfg_options: overrides merged into the config, as ``--cfg-options``.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend {backend!r} is not one of {sorted(BACKENDS)}')
    if not osp.isfile(model_file):
        raise FileNotFoundError(f'model file {model_file!r} does not exist; export one with '
                                'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT '
                                '--output-file OUT.onnx')
    cfg = load_config(config, cfg_options)
    detector = BACKENDS[backend](model_file, cfg, class_names=class_names, device=device,
                                 num_threads=num_threads)
    return detector.eval()

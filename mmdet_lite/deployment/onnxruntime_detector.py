"""ONNXRuntimeDetector: an exported graph run by ONNX Runtime (CPU, or CUDA when its provider
is installed), with mmdet 2.x's test interface (:class:`~.backend_detector.BackendDetector`)."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from .backend_detector import INSTALL_HINT, BackendDetector
from .onnx_contract import DETS_NAME, INPUT_NAME, LABELS_NAME, MASKS_NAME, read_metadata

try:  # the ``deploy`` extra
    import onnxruntime
except ImportError:
    onnxruntime = None


def require_onnxruntime() -> None:
    """Raise ImportError naming the extra when ``onnxruntime`` is not installed."""
    if onnxruntime is None:
        raise ImportError(f'the onnxruntime backend needs the onnxruntime package: {INSTALL_HINT}')


def ort_session(model_file: str, device: str = 'cpu', num_threads: Optional[int] = None
                ) -> 'onnxruntime.InferenceSession':
    """An ONNX Runtime session of ``model_file`` with every graph optimisation on.

    Args:
        device: ``'cpu'`` or ``'cuda'``/``'cuda:N'`` (needs ``onnxruntime-gpu``).
        num_threads: intra-op threads; None lets ONNX Runtime use every core.
    """
    require_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads is not None:
        options.intra_op_num_threads = int(num_threads)
    if str(device).startswith('cuda'):
        if 'CUDAExecutionProvider' not in onnxruntime.get_available_providers():
            raise RuntimeError(f"device={device!r} but this onnxruntime has no CUDA provider "
                               f"({onnxruntime.get_available_providers()}); pip install "
                               "onnxruntime-gpu or use device='cpu'")
        index = int(str(device).split(':')[1]) if ':' in str(device) else 0
        providers = [('CUDAExecutionProvider', dict(device_id=index)), 'CPUExecutionProvider']
    else:
        providers = ['CPUExecutionProvider']
    return onnxruntime.InferenceSession(model_file, sess_options=options, providers=providers)


class ONNXRuntimeDetector(BackendDetector):
    """An exported graph (``.onnx``, fp32 or int8-quantised) run by ONNX Runtime.

    Args:
        model_file: the ``.onnx`` file from ``tools/deployment/pytorch2onnx.py`` (or
            ``tools/deployment/quantize.py``).
        cfg: the config it was exported from.
        class_names: class names when the graph's metadata has none.
        device: ``'cpu'`` or ``'cuda[:N]'``.
        num_threads: intra-op threads (None: all cores).
    """

    backend = 'onnxruntime'

    def __init__(self, model_file: str, cfg: Config, class_names: Optional[Sequence[str]] = None,
                 device: str = 'cpu', num_threads: Optional[int] = None):
        self.session = ort_session(model_file, device, num_threads)
        metadata = read_metadata(self.session)
        super().__init__(model_file, cfg, metadata, class_names)
        self.output_names = [DETS_NAME, LABELS_NAME] + ([MASKS_NAME] if metadata.with_masks
                                                        else [])

    def forward_graph(self, img: np.ndarray) -> List[np.ndarray]:
        return self.session.run(self.output_names, {INPUT_NAME: img})

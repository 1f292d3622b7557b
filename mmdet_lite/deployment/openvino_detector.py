"""OpenVINODetector: an exported ONNX graph (or its OpenVINO IR ``.xml``) compiled by OpenVINO
for the CPU, with mmdet 2.x's test interface (:class:`~.backend_detector.BackendDetector`)."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from .backend_detector import INSTALL_HINT, BackendDetector
from .onnx_contract import DETS_NAME, INPUT_NAME, LABELS_NAME, MASKS_NAME, read_metadata

try:  # the ``deploy`` extra
    import openvino
except ImportError:
    openvino = None


def require_openvino() -> None:
    """Raise ImportError naming the extra when ``openvino`` is not installed."""
    if openvino is None:
        raise ImportError(f'the openvino backend needs the openvino package: {INSTALL_HINT}')


class OpenVINODetector(BackendDetector):
    """An exported graph compiled by OpenVINO.

    Args:
        model_file: the ``.onnx`` file from ``tools/deployment/pytorch2onnx.py`` (OpenVINO reads
            ONNX directly; the contract's metadata is read from it).
        cfg: the config it was exported from.
        class_names: class names when the graph's metadata has none.
        device: OpenVINO device name (``'CPU'``; ``'cpu'`` is accepted).
        num_threads: inference threads (None: OpenVINO's default, all cores).
        inference_precision: ``'f32'`` (default: the exported model's numbers) or ``'bf16'``
            (OpenVINO's own default on CPUs with bfloat16 instructions: faster, but boxes move
            by pixels and scores by ~1e-2, enough to reorder near-equal detections).
    """

    backend = 'openvino'

    def __init__(self, model_file: str, cfg: Config, class_names: Optional[Sequence[str]] = None,
                 device: str = 'CPU', num_threads: Optional[int] = None,
                 inference_precision: str = 'f32'):
        require_openvino()
        metadata = read_metadata(model_file)
        super().__init__(model_file, cfg, metadata, class_names)
        core = openvino.Core()
        if inference_precision not in ('f32', 'bf16'):
            raise ValueError(f"inference_precision must be 'f32' or 'bf16', got "
                             f'{inference_precision!r}')
        config = {'INFERENCE_PRECISION_HINT': inference_precision}
        if num_threads is not None:
            config['INFERENCE_NUM_THREADS'] = int(num_threads)
        self.compiled = core.compile_model(model_file, str(device).upper(), config)
        self.request = self.compiled.create_infer_request()
        names = [DETS_NAME, LABELS_NAME] + ([MASKS_NAME] if metadata.with_masks else [])
        self.outputs = [self.compiled.output(name) for name in names]

    def forward_graph(self, img: np.ndarray) -> List[np.ndarray]:
        results = self.request.infer({INPUT_NAME: img})
        return [np.asarray(results[port]) for port in self.outputs]

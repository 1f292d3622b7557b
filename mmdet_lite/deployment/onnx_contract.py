"""The contract of an ONNX graph exported by mmdet_lite (``tools/deployment/pytorch2onnx.py``).

Everything a backend (ONNX Runtime, OpenVINO, a user's C++ program) needs to run the graph and
turn its outputs into mmdet 2.x results is fixed here; the exporter writes graphs that obey it
and the backend detectors read only this module's names.

Shorthand: ``N`` images in the batch, ``H, W`` the network input's height and width (after the
config's test pipeline: resize, normalise, pad), ``K`` the fixed number of output rows per image
(the test_cfg's ``max_per_img``; ``test_cfg.rcnn.max_per_img`` for two-stage detectors),
``M`` the mask head's RoI size (28 for the standard FCN mask head).

Input
    ``input``   float32 ``(N, 3, H, W)``: the batch exactly as the test pipeline and collate make
                it (normalised, BGR->RGB if the config says so, padded to the size divisor).
                With a static export ``N, H, W`` are those of the export (metadata
                ``input_shape``); with ``--dynamic-export`` all three may vary (``dynamic``).

Outputs (in this order)
    ``dets``    float32 ``(N, K, 5)``: ``x1, y1, x2, y2, score`` in pixels of the network input
                (not rescaled to the original image). Boxes are clipped to the input's ``H, W``,
                as mmdet 2.x's export did: the graph does not know the unpadded ``img_shape``,
                so a backend clips to ``img_shape`` itself and then divides by the
                ``scale_factor`` (``rescale=True`` of ``simple_test``).
    ``labels``  int64 ``(N, K)``: class index in ``[0, num_classes)``.
    ``masks``   float32 ``(N, K, M, M)``, only when metadata ``with_masks`` is ``true``: the mask
                head's probabilities (after the sigmoid) of the row's class (channel 0 for a
                class-agnostic head) at the RoI size, for the row's box. Pasting into the image
                (``mask_thr_binary`` of metadata) happens outside the graph, as in mmdet 2.x.

Rows
    Per image, the real detections come first, sorted by score, highest first (the order of
    ``multiclass_nms`` in ``simple_test``: ties keep NMS's order); they are the rows with
    ``labels >= 0``. The remaining rows up to ``K`` are padding: ``dets`` all ``0.0``
    (:data:`PAD_SCORE` in column 4), ``labels`` :data:`PAD_LABEL` (``-1``), ``masks`` all
    ``0.0``. An image with no detection has ``K`` padding rows. Use :func:`num_valid_rows`.

Metadata (``ModelProto.metadata_props``; all values are strings; :data:`METADATA_KEYS`)
    see :class:`OnnxMetadata` for each key. Read it with :func:`read_metadata`.
"""
import json
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

import numpy as np

try:  # the ``deploy`` extra; the contract itself is importable without it
    import onnx
except ImportError:
    onnx = None
try:
    import onnxruntime
except ImportError:
    onnxruntime = None

# Bump when a name, dtype, shape or row rule above changes; a backend refuses other versions.
CONTRACT_VERSION = 1

INPUT_NAME = 'input'
DETS_NAME = 'dets'
LABELS_NAME = 'labels'
MASKS_NAME = 'masks'

PAD_LABEL = -1
PAD_SCORE = 0.0

# Names of the dynamic axes with --dynamic-export.
DYNAMIC_AXES: Dict[str, Dict[int, str]] = {
    INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'},
    DETS_NAME: {0: 'batch'},
    LABELS_NAME: {0: 'batch'},
    MASKS_NAME: {0: 'batch'},
}

# metadata_props keys
KEY_CONTRACT = 'mmdet_lite.onnx_contract'
KEY_VERSION = 'mmdet_lite.version'
KEY_DETECTOR = 'detector'
KEY_NUM_CLASSES = 'num_classes'
KEY_CLASSES = 'classes'
KEY_MAX_PER_IMG = 'max_per_img'
KEY_WITH_MASKS = 'with_masks'
KEY_MASK_SIZE = 'mask_size'
KEY_MASK_THR_BINARY = 'mask_thr_binary'
KEY_INPUT_SHAPE = 'input_shape'
KEY_DYNAMIC = 'dynamic'
KEY_OPSET = 'opset'
METADATA_KEYS: Tuple[str, ...] = (KEY_CONTRACT, KEY_VERSION, KEY_DETECTOR, KEY_NUM_CLASSES,
                                  KEY_CLASSES, KEY_MAX_PER_IMG, KEY_WITH_MASKS, KEY_MASK_SIZE,
                                  KEY_MASK_THR_BINARY, KEY_INPUT_SHAPE, KEY_DYNAMIC, KEY_OPSET)


class OnnxMetadata(NamedTuple):
    """What the exporter writes into the graph's ``metadata_props``.

    Attributes:
        contract: :data:`CONTRACT_VERSION` of the exporter.
        version: ``mmdet_lite.__version__`` of the exporter.
        detector: the config's detector type (``'MaskRCNN'``, ``'RetinaNet'``, ...).
        num_classes: number of object classes (labels lie in ``[0, num_classes)``).
        classes: class names from the checkpoint's ``meta['CLASSES']`` (empty if it had none).
        max_per_img: ``K``, the fixed number of output rows per image.
        with_masks: whether the graph has the ``masks`` output.
        mask_size: ``M`` (0 without masks).
        mask_thr_binary: threshold to binarise pasted masks (``test_cfg.rcnn.mask_thr_binary``;
            0.5 without masks).
        input_shape: ``(N, 3, H, W)`` of the export's example input.
        dynamic: whether batch, height and width are dynamic axes.
        opset: the ONNX opset of the default domain.
    """
    contract: int
    version: str
    detector: str
    num_classes: int
    classes: Tuple[str, ...]
    max_per_img: int
    with_masks: bool
    mask_size: int
    mask_thr_binary: float
    input_shape: Tuple[int, int, int, int]
    dynamic: bool
    opset: int

    def to_props(self) -> Dict[str, str]:
        """The ``{key: str}`` form stored in ``metadata_props``."""
        return {
            KEY_CONTRACT: str(self.contract),
            KEY_VERSION: self.version,
            KEY_DETECTOR: self.detector,
            KEY_NUM_CLASSES: str(self.num_classes),
            KEY_CLASSES: json.dumps(list(self.classes)),
            KEY_MAX_PER_IMG: str(self.max_per_img),
            KEY_WITH_MASKS: 'true' if self.with_masks else 'false',
            KEY_MASK_SIZE: str(self.mask_size),
            KEY_MASK_THR_BINARY: repr(float(self.mask_thr_binary)),
            KEY_INPUT_SHAPE: json.dumps(list(self.input_shape)),
            KEY_DYNAMIC: 'true' if self.dynamic else 'false',
            KEY_OPSET: str(self.opset),
        }


def _parse_bool(key: str, value: str) -> bool:
    if value not in ('true', 'false'):
        raise ValueError(f'ONNX metadata {key!r} is {value!r}; expected "true" or "false"')
    return value == 'true'


def metadata_from_props(props: Mapping[str, str], source: str = 'the graph') -> OnnxMetadata:
    """Parse a ``{key: str}`` mapping (``metadata_props`` or ORT's ``custom_metadata_map``).

    Raises:
        ValueError: a key is missing (the file was not written by mmdet_lite's exporter) or the
            contract version differs from :data:`CONTRACT_VERSION` (re-export with this
            version of ``tools/deployment/pytorch2onnx.py``).
    """
    missing = [key for key in METADATA_KEYS if key not in props]
    if missing:
        raise ValueError(f'{source} lacks the mmdet_lite ONNX metadata {missing}; export it '
                         'with tools/deployment/pytorch2onnx.py')
    contract = int(props[KEY_CONTRACT])
    if contract != CONTRACT_VERSION:
        raise ValueError(f'{source} follows ONNX contract {contract}, this mmdet_lite reads '
                         f'contract {CONTRACT_VERSION}; re-export it with '
                         'tools/deployment/pytorch2onnx.py')
    shape = json.loads(props[KEY_INPUT_SHAPE])
    return OnnxMetadata(
        contract=contract,
        version=props[KEY_VERSION],
        detector=props[KEY_DETECTOR],
        num_classes=int(props[KEY_NUM_CLASSES]),
        classes=tuple(json.loads(props[KEY_CLASSES])),
        max_per_img=int(props[KEY_MAX_PER_IMG]),
        with_masks=_parse_bool(KEY_WITH_MASKS, props[KEY_WITH_MASKS]),
        mask_size=int(props[KEY_MASK_SIZE]),
        mask_thr_binary=float(props[KEY_MASK_THR_BINARY]),
        input_shape=tuple(int(s) for s in shape),
        dynamic=_parse_bool(KEY_DYNAMIC, props[KEY_DYNAMIC]),
        opset=int(props[KEY_OPSET]),
    )


def read_metadata(source: Union[str, Any]) -> OnnxMetadata:
    """The :class:`OnnxMetadata` of an exported graph.

    Args:
        source: the ``.onnx`` path (read with ``onnx`` if installed, else ``onnxruntime``), an
            ``onnx.ModelProto``, or an ``onnxruntime.InferenceSession``.
    """
    if isinstance(source, str):
        if onnx is not None:
            model = onnx.load(source, load_external_data=False)
            props = {p.key: p.value for p in model.metadata_props}
        elif onnxruntime is not None:
            session = onnxruntime.InferenceSession(source, providers=['CPUExecutionProvider'])
            props = dict(session.get_modelmeta().custom_metadata_map)
        else:
            raise ImportError(f'reading {source} needs onnx or onnxruntime: '
                              'pip install -e ".[deploy]"')
        return metadata_from_props(props, source)
    if hasattr(source, 'metadata_props'):
        return metadata_from_props({p.key: p.value for p in source.metadata_props})
    if hasattr(source, 'get_modelmeta'):
        return metadata_from_props(dict(source.get_modelmeta().custom_metadata_map))
    raise TypeError(f'read_metadata takes a path, an onnx.ModelProto or an onnxruntime '
                    f'InferenceSession, not {type(source).__name__}')


def num_valid_rows(labels: np.ndarray) -> np.ndarray:
    """``(N,)`` number of real detections per image of ``labels`` ``(N, K)``.

    Real rows come first (module docstring), so image ``i``'s detections are rows
    ``[0, num_valid_rows(labels)[i])``.
    """
    return (np.asarray(labels) != PAD_LABEL).sum(axis=1)


def split_outputs(outputs: List[np.ndarray], meta: OnnxMetadata
                  ) -> List[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]]:
    """Per image ``(dets (n, 5), labels (n,), masks (n, M, M) or None)`` without padding rows.

    Args:
        outputs: the graph's outputs in contract order (``dets, labels[, masks]``).
        meta: the graph's metadata.
    """
    expected = 3 if meta.with_masks else 2
    if len(outputs) != expected:
        names = [DETS_NAME, LABELS_NAME] + ([MASKS_NAME] if meta.with_masks else [])
        raise ValueError(f'expected {expected} outputs {names}, got {len(outputs)}')
    dets, labels = outputs[0], outputs[1]
    masks = outputs[2] if meta.with_masks else None
    counts = num_valid_rows(labels)
    return [(dets[i, :n], labels[i, :n], None if masks is None else masks[i, :n])
            for i, n in enumerate(counts.tolist())]

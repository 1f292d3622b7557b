"""Parity of an exported graph with the PyTorch detector (``pytorch2onnx.py --verify``).

Both run on the same network input; PyTorch through ``simple_test(rescale=False)`` with every
image's ``img_shape`` set to the input's (H, W) (the graph clips to it, see
:mod:`.onnx_contract`), ONNX Runtime through the graph, whose mask probabilities are pasted
with the model's own mask head. Detections are matched class by class (best score first, each
to the nearest unmatched box of its class) and compared: box corners, scores, and the IoU of
the pasted binary masks.

Shapes: ``N`` images, ``n`` detections of one image, ``H, W`` the network input.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .onnx_contract import INPUT_NAME, OnnxMetadata, read_metadata, split_outputs
from .onnx_export import DEPLOY_EXTRA_HINT

try:  # the ``deploy`` extra
    import onnxruntime
except ImportError:
    onnxruntime = None

# The tolerances of issue 15: boxes in pixels of the network input, scores, mask IoU.
BOX_TOL = 0.05
SCORE_TOL = 1e-3
MASK_IOU_MIN = 0.98


class ImageDetections(NamedTuple):
    """Of one image: boxes (n, 4), scores (n,), labels (n,), binary masks (n, H, W) or None."""
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: Optional[np.ndarray]


class Parity(NamedTuple):
    """Differences between PyTorch's and the graph's detections of one batch.

    ``count_mismatch`` lists ``(image, class, n_pytorch, n_onnx)`` where the numbers differ;
    ``max_box_diff`` (px) and ``max_score_diff`` are over matched detections; ``min_mask_iou``
    is 1.0 without masks or detections; ``num_dets`` counts PyTorch's detections.
    """
    num_dets: int
    count_mismatch: List[Tuple[int, int, int, int]]
    max_box_diff: float
    max_score_diff: float
    min_mask_iou: float

    @property
    def ok(self) -> bool:
        return (not self.count_mismatch and self.max_box_diff <= BOX_TOL
                and self.max_score_diff <= SCORE_TOL and self.min_mask_iou >= MASK_IOU_MIN)

    def __str__(self) -> str:
        return (f'{self.num_dets} detections, count mismatches {self.count_mismatch}, '
                f'max |box diff| {self.max_box_diff:.2e} px (<= {BOX_TOL}), max |score diff| '
                f'{self.max_score_diff:.2e} (<= {SCORE_TOL}), min mask IoU '
                f'{self.min_mask_iou:.4f} (>= {MASK_IOU_MIN}): {"OK" if self.ok else "FAILED"}')


def _input_metas(img: Tensor) -> List[dict]:
    height, width = int(img.shape[2]), int(img.shape[3])
    shape = (height, width, 3)
    return [dict(img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape[:2],
                 scale_factor=np.ones(4, np.float32), flip=False, flip_direction=None)
            for _ in range(img.shape[0])]


def _flatten_result(result, with_masks: bool) -> ImageDetections:
    bbox_result, segm_result = result if isinstance(result, tuple) else (result, None)
    boxes, scores, labels, masks = [], [], [], []
    for label, dets in enumerate(bbox_result):
        boxes.append(dets[:, :4])
        scores.append(dets[:, 4])
        labels.append(np.full(len(dets), label, np.int64))
        if with_masks:
            masks.extend(np.asarray(mask, bool) for mask in segm_result[label])
    mask_array = None
    if with_masks:
        mask_array = np.stack(masks) if masks else np.zeros((0, 1, 1), bool)
    return ImageDetections(np.concatenate(boxes).astype(np.float32), np.concatenate(scores),
                           np.concatenate(labels), mask_array)


def pytorch_detections(model: nn.Module, img: Tensor) -> List[ImageDetections]:
    """Per image, ``simple_test(rescale=False)`` of the batch ``img`` (N, 3, H, W)."""
    with torch.no_grad():
        results = model.simple_test(img, _input_metas(img), rescale=False)
    with_masks = bool(results) and isinstance(results[0], tuple)
    return [_flatten_result(result, with_masks) for result in results]


def paste_graph_masks(model: nn.Module, probs: np.ndarray, boxes: np.ndarray,
                      labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Binary masks (n, H, W) of the graph's per-box probabilities ``probs`` (n, M, M), pasted
    by the model's mask head (as ``simple_test`` pastes) at the input size."""
    mask_head = model.roi_head.mask_head
    if len(boxes) == 0:
        return np.zeros((0, height, width), bool)
    channels = 1 if mask_head.class_agnostic else mask_head.num_classes
    full = np.zeros((len(probs), channels) + probs.shape[1:], np.float32)
    full[np.arange(len(probs)), 0 if channels == 1 else labels] = probs
    segms = mask_head.get_seg_masks(full, torch.from_numpy(boxes), torch.from_numpy(labels),
                                    model.roi_head.test_cfg, (height, width, 3),
                                    np.ones(4, np.float32), rescale=False)
    # get_seg_masks groups by class; put them back in detection order.
    order = np.concatenate([np.nonzero(labels == c)[0] for c in range(len(segms))])
    masks = np.stack([np.asarray(m, bool) for segm in segms for m in segm])
    out = np.empty_like(masks)
    out[order] = masks
    return out


def onnx_detections(session, model: nn.Module, img: Tensor,
                    meta: OnnxMetadata) -> List[ImageDetections]:
    """Per image, the graph's detections on ``img`` (N, 3, H, W), masks pasted."""
    outputs = session.run(None, {INPUT_NAME: img.numpy()})
    height, width = int(img.shape[2]), int(img.shape[3])
    detections = []
    for dets, labels, probs in split_outputs(outputs, meta):
        masks = None
        if probs is not None:
            masks = paste_graph_masks(model, probs, dets[:, :4], labels, height, width)
        detections.append(ImageDetections(dets[:, :4], dets[:, 4], labels, masks))
    return detections


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare(reference: Sequence[ImageDetections], exported: Sequence[ImageDetections]) -> Parity:
    """Match ``exported`` to ``reference`` (per image, per class) and measure the differences."""
    mismatch, box_diff, score_diff, mask_iou, num_dets = [], 0.0, 0.0, 1.0, 0
    for img_id, (ref, got) in enumerate(zip(reference, exported)):
        num_dets += len(ref.scores)
        for label in np.union1d(ref.labels, got.labels).tolist():
            ref_inds = np.nonzero(ref.labels == label)[0]
            got_inds = list(np.nonzero(got.labels == label)[0])
            if len(ref_inds) != len(got_inds):
                mismatch.append((img_id, int(label), len(ref_inds), len(got_inds)))
                continue
            for i in ref_inds[np.argsort(-ref.scores[ref_inds], kind='stable')]:
                diffs = [np.abs(ref.boxes[i] - got.boxes[j]).max() for j in got_inds]
                j = got_inds.pop(int(np.argmin(diffs)))
                box_diff = max(box_diff, float(min(diffs)))
                score_diff = max(score_diff, float(abs(ref.scores[i] - got.scores[j])))
                if ref.masks is not None and got.masks is not None:
                    mask_iou = min(mask_iou, _mask_iou(ref.masks[i], got.masks[j]))
    return Parity(num_dets, mismatch, box_diff, score_diff, mask_iou)


def create_session(onnx_file: str, num_threads: Optional[int] = None):
    """An ONNX Runtime CPU session of ``onnx_file``."""
    if onnxruntime is None:
        raise ImportError(f'--verify runs the graph with onnxruntime: {DEPLOY_EXTRA_HINT}')
    options = onnxruntime.SessionOptions()
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(onnx_file, options, providers=['CPUExecutionProvider'])


def verify_onnx(model: nn.Module, onnx_file: str, inputs: Sequence[Tensor],
                num_threads: Optional[int] = None) -> List[Parity]:
    """:class:`Parity` of the graph ``onnx_file`` with ``model`` on each input batch."""
    session = create_session(onnx_file, num_threads)
    meta = read_metadata(onnx_file)
    return [compare(pytorch_detections(model, img), onnx_detections(session, model, img, meta))
            for img in inputs]

"""Detection confusion matrix (mmdetection 2.x ``confusion_matrix.py`` semantics).

The matrix is ``(K + 1, K + 1)`` for ``K`` classes: rows are ground-truth classes, columns
detected classes; the extra last row counts detections matching no ground truth (background
false positives) and the extra last column ground truths that no detection of their class
matched (false negatives).
"""
import io
import os
import os.path as osp
import pickle
from typing import Any, List, Optional, Sequence

import numpy as np
import torch
from mmengine.utils import ProgressBar
from torchvision.ops import box_iou, nms

# Globals a results pickle (lists/tuples of numpy arrays, RLE dicts) may need, nothing else.
_SAFE_NUMPY_NAMES = {'_reconstruct', 'scalar', 'ndarray', 'dtype', '_frombuffer'}
_SAFE_BUILTINS = {'list', 'dict', 'tuple', 'set', 'frozenset', 'bytes', 'bytearray', 'slice',
                  'complex'}


class _ResultsUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a results file can never run code."""

    def find_class(self, module: str, name: str) -> Any:
        if module.split('.')[0] == 'numpy' and (name in _SAFE_NUMPY_NAMES
                                                or name.endswith('DType')):
            return super().find_class(module, name)
        if module in ('builtins', '__builtin__') and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if module == 'collections' and name == 'OrderedDict':
            return super().find_class(module, name)
        if module == '_codecs' and name == 'encode':  # bytes in pickle protocol 2 (mmengine)
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'refused to unpickle {module}.{name}: a results file may only hold lists, '
            'tuples, dicts and numpy arrays')


def load_results(path: str) -> List[Any]:
    """Per-image results saved by ``tools/test.py --out results.pkl`` (restricted unpickling)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file {path!r} does not exist; write it with '
                                'tools/test.py CONFIG CHECKPOINT --out results.pkl')
    with open(path, 'rb') as f:
        results = _ResultsUnpickler(io.BytesIO(f.read())).load()
    if not isinstance(results, (list, tuple)):
        raise TypeError(f'{path!r} holds a {type(results).__name__}; expected a list with '
                        'one result per image')
    return list(results)


def analyze_per_img_dets(confusion_matrix: np.ndarray, gt_bboxes: np.ndarray,
                         gt_labels: np.ndarray, result: Sequence[np.ndarray],
                         score_thr: float = 0, tp_iou_thr: float = 0.5,
                         nms_iou_thr: Optional[float] = None) -> None:
    """Of one image: add its detections to ``confusion_matrix`` (K + 1, K + 1) in place.

    Args:
        gt_bboxes: (k, 4) xyxy. gt_labels: (k,) in [0, K).
        result: ``bbox_results``, a list over the K classes of (n_c, 5) arrays.
        score_thr: Detections scoring below are ignored.
        tp_iou_thr: A detection matches every ground truth it overlaps with IoU >= this;
            each match counts in ``[gt class, detected class]``.
        nms_iou_thr: Optional extra per-class NMS before matching.
    """
    gt_bboxes = np.asarray(gt_bboxes, dtype=np.float32).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, dtype=np.int64).reshape(-1)
    gt_t = torch.from_numpy(gt_bboxes)
    true_positives = np.zeros(len(gt_labels), dtype=np.int64)
    for det_label, det_bboxes in enumerate(result):
        det = torch.from_numpy(np.asarray(det_bboxes, dtype=np.float32).reshape(-1, 5))
        det = det[det[:, 4] >= score_thr]
        if nms_iou_thr is not None and len(det):
            det = det[nms(det[:, :4], det[:, 4], nms_iou_thr)]
        if len(det) == 0:
            continue
        if len(gt_labels) == 0:
            confusion_matrix[-1, det_label] += len(det)
            continue
        matched = (box_iou(det[:, :4], gt_t) >= tp_iou_thr).numpy()  # (n, k)
        for row in matched:
            if not row.any():
                confusion_matrix[-1, det_label] += 1
                continue
            for j in np.flatnonzero(row):
                confusion_matrix[gt_labels[j], det_label] += 1
                if gt_labels[j] == det_label:
                    true_positives[j] += 1
    for num_tp, gt_label in zip(true_positives, gt_labels):
        if num_tp == 0:
            confusion_matrix[gt_label, -1] += 1


def calculate_confusion_matrix(dataset: Any, results: Sequence[Any], score_thr: float = 0,
                               nms_iou_thr: Optional[float] = None,
                               tp_iou_thr: float = 0.5) -> np.ndarray:
    """The (K + 1, K + 1) confusion matrix of ``results`` (one per image, in dataset order)
    against ``dataset.get_ann_info(i)``."""
    num_classes = len(dataset.CLASSES)
    if len(dataset) != len(results):
        raise ValueError(f'{len(results)} results for a dataset of {len(dataset)} images; the '
                         'results file must come from the same (test) dataset')
    matrix = np.zeros((num_classes + 1, num_classes + 1), dtype=np.float64)
    progress = ProgressBar(len(results))
    for idx, per_img in enumerate(results):
        bbox_result = per_img[0] if isinstance(per_img, tuple) else per_img
        if len(bbox_result) != num_classes:
            raise ValueError(f'result {idx} has {len(bbox_result)} classes but the dataset '
                             f'has {num_classes}')
        ann = dataset.get_ann_info(idx)
        analyze_per_img_dets(matrix, ann['bboxes'], ann['labels'], bbox_result, score_thr,
                             tp_iou_thr, nms_iou_thr)
        progress.update()
    return matrix


def plot_confusion_matrix(confusion_matrix: np.ndarray, labels: Sequence[str],
                          save_dir: Optional[str] = None,
                          title: str = 'Normalized Confusion Matrix',
                          color_theme: str = 'plasma', fig: Any = None):
    """Plot the row-normalised matrix (percent of each ground-truth class); save
    ``confusion_matrix.png`` in ``save_dir``. Draws into ``fig`` when given (e.g.
    ``plt.figure()`` to show it), else a new Figure on the Agg canvas; returns the Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if confusion_matrix.shape != (len(labels), len(labels)):
        raise ValueError(f'{len(labels)} labels for a {confusion_matrix.shape} matrix; give '
                         "the class names plus 'background'")
    row_sums = confusion_matrix.sum(axis=1, keepdims=True)
    percent = np.divide(confusion_matrix * 100, row_sums,
                        out=np.zeros_like(confusion_matrix, dtype=np.float64),
                        where=row_sums > 0)
    n = len(labels)
    if fig is None:
        fig = Figure(dpi=120)
        FigureCanvasAgg(fig)
    fig.set_size_inches(0.5 * n + 3, 0.5 * n + 2.5)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(percent, cmap=color_theme, vmin=0, vmax=100)
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
    ax.set_xticks(np.arange(n))
    ax.set_yticks(np.arange(n))
    ax.set_xticklabels(labels, rotation=45, ha='right')
    ax.set_yticklabels(labels)
    ax.set_xlabel('Prediction')
    ax.set_ylabel('Ground Truth')
    for i in range(n):
        for j in range(n):
            value = percent[i, j]
            ax.text(j, i, f'{int(round(value))}' if row_sums[i, 0] > 0 else '-',
                    ha='center', va='center', fontsize=7,
                    color='black' if value > 60 else 'white')
    fig.tight_layout()
    if save_dir is not None:
        os.makedirs(save_dir, exist_ok=True)
        fig.savefig(osp.join(save_dir, 'confusion_matrix.png'))
    return fig

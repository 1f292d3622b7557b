"""Fit YOLO anchors (width, height) to a dataset's boxes (2.x
``tools/analysis_tools/optimize_anchors.py``).

Boxes are compared with anchors by the IoU of the two rectangles centred on one point, the
measure YOLO's ``YOLOAnchorGenerator`` anchors are matched with. Two optimisers, as 2.x:

* :class:`YOLOKMeansAnchorOptimizer`: k-means with ``1 - IoU`` as the distance (darknet's
  ``calc_anchors``): assign each box to its best anchor, move each anchor to the mean size of
  its boxes, until the assignment stops changing. (2.x resets an anchor with no box to size 0;
  here it keeps its size.)
* :class:`YOLODEAnchorOptimizer`: ``scipy.optimize.differential_evolution`` minimising
  ``1 - mean over boxes of the best anchor IoU`` (:func:`anchor_mismatch`).

Box sizes are first scaled as the model's input resize would: by ``input_shape / longest
image side`` (per axis, as 2.x).
"""
import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
import torch
from mmengine.logging import print_log
from scipy.optimize import differential_evolution

from ..core.bbox.transforms import bbox_cxcywh_to_xyxy

__all__ = ['collect_bbox_whs', 'centred_iou', 'anchor_mismatch', 'BaseAnchorOptimizer',
           'YOLOKMeansAnchorOptimizer', 'YOLODEAnchorOptimizer']


def collect_bbox_whs(dataset: Any, input_shape: Sequence[int]) -> np.ndarray:
    """(n, 2) widths/heights of every ground-truth box of ``dataset``, scaled to an input of
    ``input_shape`` ``[width, height]``."""
    whs, longest = [], []
    for idx in range(len(dataset)):
        info = dataset.data_infos[idx]
        bboxes = np.asarray(dataset.get_ann_info(idx)['bboxes'], np.float32).reshape(-1, 4)
        whs.append(bboxes[:, 2:4] - bboxes[:, 0:2])
        longest.append(np.full((len(bboxes), 1), max(info['width'], info['height'])))
    if not whs or sum(len(w) for w in whs) == 0:
        raise ValueError('the dataset has no ground-truth boxes to fit anchors to')
    ratios = np.concatenate(longest) / np.asarray([input_shape], np.float32)
    return (np.concatenate(whs) / ratios).astype(np.float32)


ArrayLike = Union[np.ndarray, torch.Tensor]


def centred_iou(whs: ArrayLike, anchors: ArrayLike) -> ArrayLike:
    """(n, k) IoU of boxes (n, 2) and anchors (k, 2) given as (w, h), both centred on one
    point (the overlap is then min(w) x min(h)). numpy arrays or tensors (both the same): the
    optimisers' inner loop runs numpy on CPU (torch's per-call overhead and thread pool make
    it ~100x slower there on a busy machine), tensors on a GPU."""
    lib: Any = torch if isinstance(whs, torch.Tensor) else np
    inter = (lib.minimum(whs[:, None, 0], anchors[None, :, 0]) *
             lib.minimum(whs[:, None, 1], anchors[None, :, 1]))
    union = (whs[:, 0] * whs[:, 1])[:, None] + (anchors[:, 0] * anchors[:, 1])[None] - inter
    return inter / union.clip(1e-6, None)


def _mean_best_iou(whs: ArrayLike, anchors: ArrayLike) -> float:
    lib: Any = torch if isinstance(whs, torch.Tensor) else np
    return float(lib.amax(centred_iou(whs, anchors), 1).mean())


def _as_device(array: np.ndarray, device: str) -> ArrayLike:
    array = np.asarray(array, np.float32)
    return array if str(device) == 'cpu' else torch.from_numpy(array).to(device)


def anchor_mismatch(whs: np.ndarray, anchors: Sequence[Sequence[float]],
                    device: str = 'cpu') -> float:
    """``1 -`` the mean, over boxes (n, 2), of the best IoU with any anchor (k, 2), both
    centred on one point: 0 when every box has an anchor of its exact size."""
    return 1 - _mean_best_iou(_as_device(np.asarray(whs).reshape(-1, 2), device),
                              _as_device(np.asarray(anchors).reshape(-1, 2), device))


class BaseAnchorOptimizer:
    """Boxes of ``dataset`` at the input size ``input_shape`` ``[width, height]``.

    Args:
        dataset: Has ``data_infos`` (``width``/``height``) and ``get_ann_info``.
        logger: mmengine logger name or instance (``'current'``: the current one).
        device: Where IoUs are computed ('cpu': numpy; else torch on that device).
        out_dir: Where ``anchor_optimize_result.json`` goes (None: not saved).
    """

    def __init__(self, dataset: Any, input_shape: Sequence[int], logger: Any = 'current',
                 device: str = 'cpu', out_dir: Optional[str] = None):
        if len(input_shape) != 2:
            raise ValueError(f'input_shape is [width, height], got {input_shape}')
        self.dataset = dataset
        self.input_shape = list(input_shape)
        self.logger = logger
        self.device = device
        self.out_dir = out_dir
        self.bbox_whs = collect_bbox_whs(dataset, input_shape)
        print_log(f'Collected {len(self.bbox_whs)} bboxes.', logger=logger)

    def get_zero_center_bbox_tensor(self) -> torch.Tensor:
        """(n, 4) boxes centred on (0, 0), xyxy (2.x's helper)."""
        return bbox_cxcywh_to_xyxy(torch.cat([torch.zeros(len(self.bbox_whs), 2),
                                              torch.from_numpy(self.bbox_whs)], dim=1))

    def optimize(self) -> List[Tuple[float, float]]:
        raise NotImplementedError(f'{type(self).__name__} must implement optimize()')

    def save_result(self, anchors: Sequence[Sequence[float]], path: Optional[str] = None
                    ) -> List[List[int]]:
        """Anchors rounded to integers (2.x's json), written to
        ``path/anchor_optimize_result.json`` when ``path`` is given."""
        rounded = [[round(float(w)), round(float(h))] for w, h in anchors]
        print_log(f'Anchor optimize result:{rounded}', logger=self.logger)
        if path:
            os.makedirs(path, exist_ok=True)
            json_path = osp.join(path, 'anchor_optimize_result.json')
            mmengine.dump(rounded, json_path)
            print_log(f'Result saved in {json_path}', logger=self.logger)
        return rounded


class YOLOKMeansAnchorOptimizer(BaseAnchorOptimizer):
    """k-means anchors (IoU distance). ``iters``: most assignment rounds; ``seed`` picks the
    initial anchors (random boxes)."""

    def __init__(self, num_anchors: int, iters: int, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.num_anchors = num_anchors
        self.iters = iters
        self.seed = seed

    def optimize(self) -> List[Tuple[float, float]]:
        anchors = self.kmeans_anchors()
        self.save_result(anchors, self.out_dir)
        return anchors

    def kmeans_anchors(self) -> List[Tuple[float, float]]:
        """``num_anchors`` (w, h), sorted by area."""
        bboxes = self.bbox_whs
        if len(bboxes) < self.num_anchors:
            raise ValueError(f'{len(bboxes)} boxes cannot make {self.num_anchors} anchors')
        first = np.random.RandomState(self.seed).permutation(len(bboxes))[:self.num_anchors]
        centers = bboxes[first].copy()
        assignments = np.full(len(bboxes), -1)
        for i in range(self.iters):
            closest = np.asarray(centred_iou(bboxes, centers).argmax(1))
            if np.array_equal(closest, assignments):
                print_log(f'K-means process has converged at iter {i}.', logger=self.logger)
                break
            assignments = closest
            centers = self.kmeans_maximization(bboxes, assignments, centers)
        avg_iou = _mean_best_iou(bboxes, centers)
        print_log(f'Anchor cluster finish. Average IOU: {avg_iou}', logger=self.logger)
        whs = centers
        return sorted(((float(w), float(h)) for w, h in whs), key=lambda a: a[0] * a[1])

    @staticmethod
    def kmeans_maximization(bboxes: np.ndarray, assignments: np.ndarray,
                            centers: np.ndarray) -> np.ndarray:
        """Each centre (w, h) moves to the mean size of its boxes (one without boxes stays)."""
        new_centers = centers.copy()
        for i in range(len(centers)):
            mask = assignments == i
            if mask.any():
                new_centers[i] = bboxes[mask].mean(0)
        return new_centers


class YOLODEAnchorOptimizer(BaseAnchorOptimizer):
    """Differential-evolution anchors (``scipy.optimize.differential_evolution`` with 2.x's
    defaults: ``best1bin``, population 15, tolerance 1e-4, mutation (0.5, 1), recombination
    0.7, immediate updating); anchor sizes are bounded by the input size."""

    def __init__(self, num_anchors: int, iters: int, strategy: str = 'best1bin',
                 population_size: int = 15, convergence_thr: float = 0.0001,
                 mutation: Tuple[float, float] = (0.5, 1), recombination: float = 0.7,
                 seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.num_anchors = num_anchors
        self.iters = iters
        self.strategy = strategy
        self.population_size = population_size
        self.convergence_thr = convergence_thr
        self.mutation = mutation
        self.recombination = recombination
        self.seed = seed

    def optimize(self) -> List[Tuple[float, float]]:
        anchors = self.differential_evolution()
        self.save_result(anchors, self.out_dir)
        return anchors

    def differential_evolution(self) -> List[Tuple[float, float]]:
        bboxes = _as_device(self.bbox_whs, self.device)
        bounds = [(0, self.input_shape[0]), (0, self.input_shape[1])] * self.num_anchors
        result = differential_evolution(
            func=self.avg_iou_cost, bounds=bounds, args=(bboxes, ), strategy=self.strategy,
            maxiter=self.iters, popsize=self.population_size, tol=self.convergence_thr,
            mutation=self.mutation, recombination=self.recombination, updating='immediate',
            seed=self.seed)
        print_log(f'Anchor evolution finish. Average IOU: {1 - result.fun}', logger=self.logger)
        anchors = [(float(w), float(h)) for w, h in zip(result.x[::2], result.x[1::2])]
        return sorted(anchors, key=lambda a: a[0] * a[1])

    @staticmethod
    def avg_iou_cost(anchor_params: np.ndarray, bbox_whs: ArrayLike) -> float:
        """``1 -`` mean best IoU of boxes (n, 2) (w, h) with the anchors
        ``[w0, h0, w1, h1, ...]``."""
        anchors = np.asarray(anchor_params, np.float32).reshape(-1, 2)
        if isinstance(bbox_whs, torch.Tensor):
            anchors = torch.from_numpy(anchors).to(bbox_whs.device)
        return 1 - _mean_best_iou(bbox_whs, anchors)

"""Run COCO evaluation (pycocotools, or faster-coco-eval with the same numbers) and format tables.

faster-coco-eval (``pip install faster-coco-eval``, or the ``fast-eval`` extra) evaluates in
C++ and gives pycocotools' numbers (tests/test_evaluation/test_coco_eval_backends.py); the
default backend ``'auto'`` uses it when it is installed.
"""
import contextlib
import copy
import importlib.util
import io
import itertools
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from terminaltables import AsciiTable

# Index of each 2.x metric name in ``COCOeval.stats``.
COCO_METRIC_NAMES = {
    'mAP': 0, 'mAP_50': 1, 'mAP_75': 2, 'mAP_s': 3, 'mAP_m': 4, 'mAP_l': 5,
    'AR@100': 6, 'AR@300': 7, 'AR@1000': 8, 'AR_s@1000': 9, 'AR_m@1000': 10, 'AR_l@1000': 11
}
BACKENDS = ('auto', 'pycocotools', 'faster')


@dataclass
class CocoEvalOutput:
    """``stats`` (12,) as COCOeval.stats; ``precision`` (T, R, K, A, M); ``summary`` its text;
    ``backend`` the one that ran ('pycocotools' or 'faster')."""
    stats: np.ndarray
    precision: np.ndarray
    summary: str
    backend: str = 'pycocotools'


def resolve_backend(backend: str = 'auto') -> str:
    """'faster' or 'pycocotools': ``'auto'`` is 'faster' when faster-coco-eval is installed."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown COCO evaluation backend {backend!r}; use one of {BACKENDS}')
    installed = importlib.util.find_spec('faster_coco_eval') is not None
    if backend == 'auto':
        return 'faster' if installed else 'pycocotools'
    if backend == 'faster' and not installed:
        raise ImportError("COCO evaluation backend 'faster' needs faster-coco-eval: "
                          "pip install faster-coco-eval (or mmdet_lite's 'fast-eval' extra), "
                          "or use backend='pycocotools'")
    return backend


def default_iou_thrs() -> np.ndarray:
    return np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)


def run_coco_eval(coco_gt: COCO, predictions: List[dict], iou_type: str, cat_ids: Sequence[int],
                  img_ids: Sequence[int], max_dets: Sequence[int] = (100, 300, 1000),
                  iou_thrs: Optional[Sequence[float]] = None, use_cats: bool = True,
                  backend: str = 'auto') -> CocoEvalOutput:
    """Evaluate non-empty ``predictions`` (COCO result dicts) against ``coco_gt``.

    Args:
        iou_type: 'bbox' or 'segm'.
        max_dets: COCOeval ``maxDets``; 2.x passes ``proposal_nums``, so AP uses the last one.
        use_cats: False for class-agnostic proposal recall.
        backend: 'pycocotools', 'faster' (faster-coco-eval's C++ implementation) or 'auto'
            (:func:`resolve_backend`); the output names the one that ran.
    """
    backend = resolve_backend(backend)
    if not predictions:
        raise ValueError('run_coco_eval needs at least one prediction')
    if backend == 'faster':
        from faster_coco_eval import COCO as FasterCOCO
        from faster_coco_eval import COCOeval_faster
        gt = FasterCOCO(copy.deepcopy(coco_gt.dataset))
        dt = gt.loadRes(copy.deepcopy(predictions))
        evaluator = COCOeval_faster(gt, dt, iou_type, print_function=lambda *args: None)
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            dt = coco_gt.loadRes(copy.deepcopy(predictions))
        evaluator = COCOeval(coco_gt, dt, iou_type)
    evaluator.params.catIds = list(cat_ids)
    evaluator.params.imgIds = list(img_ids)
    evaluator.params.maxDets = list(max_dets)
    evaluator.params.iouThrs = np.asarray(iou_thrs if iou_thrs is not None else default_iou_thrs())
    evaluator.params.useCats = int(use_cats)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    stats, summary = summarize(evaluator.eval, evaluator.params, iou_type)
    return CocoEvalOutput(stats=stats, precision=np.asarray(evaluator.eval['precision']),
                          summary=summary, backend=backend)


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def summarize(coco_eval: dict, params, iou_type: str = 'bbox') -> Tuple[np.ndarray, str]:
    """The 12 ``COCOeval.summarize`` numbers from accumulated ``eval`` arrays, and their text.

    Computed here (with pycocotools' rules: AP uses 100 detections, the other items the
    last ``maxDets``) so that both backends report the same numbers the same way.
    """
    max_dets = list(params.maxDets)
    if len(max_dets) != 3:
        raise ValueError(f'COCO summaries need three maxDets (proposal_nums), got {max_dets}')
    iou_thrs = np.asarray(params.iouThrs)
    area_lbls = list(params.areaRngLbl)
    rows = []

    def item(ap: bool, iou_thr=None, area='all', max_det=100) -> float:
        arr = np.asarray(coco_eval['precision' if ap else 'recall'])
        if iou_thr is not None:
            arr = arr[np.where(np.isclose(iou_thrs, iou_thr))[0]]
        a = [i for i, lbl in enumerate(area_lbls) if lbl == area]
        m = [i for i, d in enumerate(max_dets) if d == max_det]
        arr = arr[..., a, :][..., m] if a and m else np.full(1, -1.0)
        value = _mean_valid(arr)
        iou_txt = (f'{iou_thrs[0]:0.2f}:{iou_thrs[-1]:0.2f}' if iou_thr is None
                   else f'{iou_thr:0.2f}')
        title = 'Average Precision  (AP)' if ap else 'Average Recall     (AR)'
        rows.append(f' {title} @[ IoU={iou_txt:<9} | area={area:>6s} | '
                    f'maxDets={max_det:>3d} ] = {value:0.3f}')
        return value

    last = max_dets[2]
    stats = np.array([
        item(True), item(True, .5, max_det=last), item(True, .75, max_det=last),
        item(True, area='small', max_det=last), item(True, area='medium', max_det=last),
        item(True, area='large', max_det=last), item(False, max_det=max_dets[0]),
        item(False, max_det=max_dets[1]), item(False, max_det=last),
        item(False, area='small', max_det=last), item(False, area='medium', max_det=last),
        item(False, area='large', max_det=last)
    ])
    return stats, f'Evaluate annotation type *{iou_type}*\n' + '\n'.join(rows)


def classwise_ap_table(precision: np.ndarray, cat_names: Sequence[str]) -> str:
    """Per-class AP table (3 class/AP column pairs), AP over IoUs at area 'all' and max dets."""
    if precision.shape[2] != len(cat_names):
        raise ValueError(f'{precision.shape[2]} classes in the precision array but '
                         f'{len(cat_names)} names')
    cells = []
    for k, name in enumerate(cat_names):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        ap = float(np.mean(p)) if p.size else float('nan')
        cells.append((str(name), f'{ap:0.3f}'))
    num_columns = min(6, len(cells) * 2)
    flat = list(itertools.chain(*cells))
    rows = [['category', 'AP'] * (num_columns // 2)]
    rows += [list(r) for r in itertools.zip_longest(*[flat[i::num_columns]
                                                      for i in range(num_columns)])]
    return AsciiTable(rows).table

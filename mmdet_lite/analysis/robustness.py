"""The corruption benchmark (Michaelis et al., "Benchmarking Robustness in Object Detection";
2.x ``tools/analysis_tools/test_robustness.py``): test a detector on its test set with each
image corruption at each severity and collect COCO (or VOC) metrics per (corruption, severity).

The corruptions come from ``imagecorruptions`` through the ``Corrupt`` pipeline step
(``mmdet_lite/datasets/pipelines/corrupt.py``), inserted right after ``LoadImageFromFile``.
Severity 0 is the clean test set, evaluated once and shared by every corruption. The result,
``{corruption: {severity: {'bbox': {'AP': ..., 'AP50': ..., ...}}}}`` (COCO) or
``{corruption: {severity: [{'ap': ...} per class]}}`` (VOC), is what
:mod:`~mmdet_lite.analysis.robustness_eval` aggregates into P / mPC / rPC.
"""
import copy
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import mmengine
from mmengine.dist import get_dist_info
from pycocotools.cocoeval import COCOeval

from ..apis import build_detector_from_config, build_test_data, multi_gpu_test, single_gpu_test
from ..core.evaluation import eval_map
from ..datasets.pipelines.corrupt import CORRUPTIONS

__all__ = ['CORRUPTION_SETS', 'COCO_METRICS', 'resolve_corruptions', 'with_corruption',
           'coco_eval_with_return', 'voc_eval_with_return', 'corruption_benchmark',
           'benchmark_results_file']

BENCHMARK = CORRUPTIONS[:15]
CORRUPTION_SETS: Dict[str, Tuple[str, ...]] = dict(
    all=CORRUPTIONS, benchmark=BENCHMARK, noise=CORRUPTIONS[0:3], blur=CORRUPTIONS[3:7],
    weather=CORRUPTIONS[7:11], digital=CORRUPTIONS[11:15], holdout=CORRUPTIONS[15:])
COCO_METRICS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs',
                'ARm', 'ARl')


def resolve_corruptions(names: Sequence[str], severities: Sequence[int]
                        ) -> Tuple[List[str], List[int]]:
    """2.x's ``--corruptions`` (set names 'all', 'benchmark', 'noise', 'blur', 'weather',
    'digital', 'holdout', 'None', or corruption names) and ``--severities`` resolved."""
    for group in ('all', 'benchmark', 'noise', 'blur', 'weather', 'digital', 'holdout'):
        if group in names:
            return list(CORRUPTION_SETS[group]), list(severities)
    if 'None' in names:
        return ['None'], [0]
    unknown = [n for n in names if n not in CORRUPTIONS]
    if unknown:
        raise ValueError(f'unknown corruptions {unknown}; choose from {CORRUPTIONS} or a set '
                         f'{sorted(CORRUPTION_SETS)}')
    bad = [s for s in severities if s not in range(6)]
    if bad:
        raise ValueError(f'severities must be 0..5 (0 = clean), got {bad}')
    return list(names), list(severities)


def with_corruption(cfg: mmengine.Config, corruption: str, severity: int) -> mmengine.Config:
    """A copy of ``cfg`` whose ``data.test`` pipeline corrupts images after loading them."""
    cfg = copy.deepcopy(cfg)
    if severity == 0:
        return cfg
    pipeline = cfg.data.test.pipeline
    loads = [i for i, step in enumerate(pipeline) if step['type'] == 'LoadImageFromFile']
    if not loads:
        raise ValueError('data.test.pipeline has no LoadImageFromFile step to corrupt after')
    pipeline.insert(loads[0] + 1, dict(type='Corrupt', corruption=corruption,
                                       severity=severity))
    return cfg


def coco_eval_with_return(result_files: Dict[str, str], result_types: Sequence[str], coco: Any,
                          max_dets: Sequence[int] = (100, 300, 1000)) -> Dict[str, Any]:
    """pycocotools' summary of each result type: a dict of :data:`COCO_METRICS` for bbox/segm,
    the stats array for proposals."""
    results: Dict[str, Any] = {}
    for res_type in result_types:
        if res_type not in ('proposal', 'bbox', 'segm', 'keypoints'):
            raise ValueError(f'result type {res_type!r} cannot be evaluated')
        result_file = result_files['bbox' if res_type == 'proposal' else res_type]
        evaluator = COCOeval(coco, coco.loadRes(result_file),
                             'bbox' if res_type == 'proposal' else res_type)
        evaluator.params.imgIds = coco.getImgIds()
        if res_type == 'proposal':
            evaluator.params.useCats = 0
            evaluator.params.maxDets = list(max_dets)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        results[res_type] = (dict(zip(COCO_METRICS, map(float, evaluator.stats)))
                             if res_type in ('bbox', 'segm') else evaluator.stats)
    return results


def voc_eval_with_return(results: list, dataset: Any, iou_thr: float = 0.5,
                         logger: Any = 'silent') -> Tuple[float, List[Dict[str, float]]]:
    """``(mAP, [{'ap': AP of class c}])`` of VOC-style box results."""
    annotations = [dataset.get_ann_info(i) for i in range(len(dataset))]
    name = 'voc07' if getattr(dataset, 'year', None) == 2007 else dataset.CLASSES
    bbox_results = [r[0] if isinstance(r, tuple) else r for r in results]
    mean_ap, per_class = eval_map(bbox_results, annotations, iou_thr=iou_thr, dataset=name,
                                  logger=logger)
    return mean_ap, [{'ap': float(c['ap'])} for c in per_class]


def _evaluate(cfg: mmengine.Config, dataset: Any, outputs: list, eval_types: Sequence[str],
              iou_thr: float, out: str, summaries: bool) -> Any:
    if cfg.get('dataset_type', type(dataset).__name__) == 'VOCDataset' or \
            type(dataset).__name__ == 'VOCDataset':
        if list(eval_types) != ['bbox']:
            print('\nOnly "bbox" evaluation is supported for pascal voc')
        return voc_eval_with_return(outputs, dataset, iou_thr,
                                    logger='print' if summaries else 'silent')[1]
    if not hasattr(dataset, 'results2json') or not hasattr(dataset, 'coco'):
        raise TypeError(f'{type(dataset).__name__} is neither COCO-style nor VOC: cannot '
                        'evaluate it here')
    result_files = dataset.results2json(outputs, osp.splitext(out)[0])
    return coco_eval_with_return(result_files, eval_types, dataset.coco)


def corruption_benchmark(cfg: mmengine.Config, checkpoint: str, corruptions: Sequence[str],
                         severities: Sequence[int], out: str,
                         eval_types: Sequence[str] = ('bbox', ), iou_thr: float = 0.5,
                         device: Optional[str] = None, distributed: bool = False,
                         show: bool = False, show_dir: Optional[str] = None,
                         show_score_thr: float = 0.3, tmpdir: Optional[str] = None,
                         summaries: bool = False) -> Optional[Dict[str, Dict[int, Any]]]:
    """Run the benchmark; after every evaluation the aggregated results so far are written to
    ``<out stem>_results<out ext>`` and the last run's raw detections to ``out``.

    Returns the aggregated results (None on ranks other than 0 when distributed). Images
    are drawn into ``show_dir/<corruption>/<severity>/`` when ``show_dir`` is given;
    ``summaries`` prints VOC's per-class table of every run (COCO's summary always prints).
    """
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'The output file must be a pkl file, got {out!r}')
    rank, _ = get_dist_info()
    results_file = benchmark_results_file(out)
    aggregated: Dict[str, Dict[int, Any]] = {}
    model = None
    for corr_i, corruption in enumerate(corruptions):
        aggregated[corruption] = {}
        for severity in severities:
            if corr_i > 0 and severity == 0 and 0 in aggregated[corruptions[0]]:
                aggregated[corruption][0] = aggregated[corruptions[0]][0]
                continue
            print(f'\nTesting {corruption} at severity {severity}')
            test_cfg = with_corruption(cfg, corruption, severity)
            dataset, data_loader = build_test_data(test_cfg)
            if model is None:
                model = build_detector_from_config(cfg, checkpoint, device=device,
                                                   default_classes=dataset.CLASSES)
            if distributed:
                outputs = multi_gpu_test(model, data_loader, tmpdir)
            else:
                draw_dir = (osp.join(show_dir, corruption, str(severity))
                            if show_dir is not None else None)
                if draw_dir is not None:
                    os.makedirs(draw_dir, exist_ok=True)
                outputs = single_gpu_test(model, data_loader, show, draw_dir, show_score_thr)
            if rank != 0:
                continue
            mmengine.dump(outputs, out)
            aggregated[corruption][severity] = _evaluate(cfg, dataset, outputs, eval_types,
                                                         iou_thr, out, summaries)
            mmengine.dump(aggregated, results_file)
    return aggregated if rank == 0 else None


def benchmark_results_file(out: str) -> str:
    """Where :func:`corruption_benchmark` writes the aggregated results for ``--out out``."""
    return f'{osp.splitext(out)[0]}_results{osp.splitext(out)[1]}'


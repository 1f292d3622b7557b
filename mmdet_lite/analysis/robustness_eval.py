"""Aggregate corruption-benchmark results (2.x ``tools/analysis_tools/robustness_eval.py``).

From the per-(corruption, severity) metrics written by
:func:`~mmdet_lite.analysis.robustness.corruption_benchmark`:

* ``P``: performance on clean data (severity 0);
* ``mPC``: mean performance under corruption, over the corruptions and severities 1-5 (only
  the 15 benchmark corruptions with ``aggregate='benchmark'``, all with ``'all'``);
* ``rPC = mPC / P``.

Differences from 2.x on purpose: 2.x fills (corruption, severity) pairs that were not run with
0 and averages them in (``--severities 0 3`` lowers mPC by 4/5), and takes "the first 15
corruptions of the file" as the benchmark ones; here pairs not run are left out of the means
and the benchmark corruptions are picked by name.
"""
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from ..convert.numpy_pickle import load_numpy_pickle
from .robustness import BENCHMARK, COCO_METRICS

__all__ = ['RobustnessSummary', 'load_robustness_results', 'summarize',
           'get_coco_style_results', 'get_voc_style_results', 'get_results',
           'get_distortions_from_results']

Results = Dict[str, Dict[int, Any]]


class RobustnessSummary(NamedTuple):
    P: np.ndarray  # (M,) clean performance per metric
    mPC: np.ndarray  # (M,) mean performance under corruption
    rPC: np.ndarray  # (M,) mPC / P


def load_robustness_results(filename: Union[str, Results]) -> Results:
    """The aggregated results of ``filename`` (``<out>_results.pkl``; read without running
    code: plain containers and numpy values only), or ``filename`` itself if a dict."""
    results = filename if isinstance(filename, dict) else load_numpy_pickle(filename)
    if not isinstance(results, dict) or not results:
        raise ValueError(f'{filename!r} holds no corruption results; it should be the '
                         '<out>_results.pkl that tools/analysis_tools/test_robustness.py writes')
    return results


def summarize(table: np.ndarray, corruptions: Sequence[str], aggregate: str = 'benchmark'
              ) -> RobustnessSummary:
    """P / mPC / rPC of ``table`` (num corruptions, 6 severities, M metrics; NaN = not run)."""
    if aggregate not in ('benchmark', 'all'):
        raise ValueError(f"aggregate must be 'benchmark' or 'all', got {aggregate!r}")
    clean = [i for i in range(len(corruptions)) if not np.isnan(table[i, 0]).all()]
    if not clean:
        raise ValueError('no clean (severity 0) results: run test_robustness with severity 0')
    rows = [i for i, name in enumerate(corruptions)
            if aggregate == 'all' or name in BENCHMARK]
    corrupted = table[rows, 1:].reshape(-1, table.shape[2])
    corrupted = corrupted[~np.isnan(corrupted).all(axis=1)]
    if not len(corrupted):
        raise ValueError(f'no corrupted results (severity 1-5) for aggregate={aggregate!r} '
                         f'among {list(corruptions)}')
    p = table[clean[0], 0]
    mpc = np.nanmean(corrupted, axis=0)
    with np.errstate(divide='ignore', invalid='ignore'):
        rpc = mpc / p
    return RobustnessSummary(p, mpc, rpc)


def _print_coco(values: np.ndarray) -> None:
    rows = [(1, None, 'all', 100), (1, .5, 'all', 100), (1, .75, 'all', 100),
            (1, None, 'small', 100), (1, None, 'medium', 100), (1, None, 'large', 100),
            (0, None, 'all', 1), (0, None, 'all', 10), (0, None, 'all', 100),
            (0, None, 'small', 100), (0, None, 'medium', 100), (0, None, 'large', 100)]
    for value, (ap, iou, area, max_dets) in zip(values, rows):
        title, kind = ('Average Precision', '(AP)') if ap else ('Average Recall', '(AR)')
        iou_str = '0.50:0.95' if iou is None else f'{iou:0.2f}'
        print(f' {title:<18} {kind} @[ IoU={iou_str:<9} | area={area:>6s} | '
              f'maxDets={max_dets:>3d} ] = {value:0.3f}')


def _prints(prints: Union[str, Sequence[str]]) -> List[str]:
    chosen = ['P', 'mPC', 'rPC'] if prints == 'all' else (
        [prints] if isinstance(prints, str) else list(prints))
    bad = [p for p in chosen if p not in ('P', 'mPC', 'rPC')]
    if bad:
        raise ValueError(f'prints must be among P, mPC, rPC; got {bad}')
    return chosen


def get_coco_style_results(filename: Union[str, Results], task: str = 'bbox',
                           metric: Union[None, str, Sequence[str]] = None,
                           prints: Union[str, Sequence[str]] = 'mPC',
                           aggregate: str = 'benchmark') -> np.ndarray:
    """Print P / mPC / rPC of a COCO-style benchmark; returns the table (corruptions, 6, M)."""
    metrics = list(COCO_METRICS) if metric is None else (
        [metric] if isinstance(metric, str) else list(metric))
    unknown = [m for m in metrics if m not in COCO_METRICS]
    if unknown:
        raise ValueError(f'unknown metrics {unknown}; choose from {COCO_METRICS}')
    results = load_robustness_results(filename)
    table = np.full((len(results), 6, len(metrics)), np.nan, dtype=np.float32)
    for i, per_severity in enumerate(results.values()):
        for severity, value in per_severity.items():
            if task not in value:
                raise KeyError(f'no {task!r} results (have {sorted(value)}); test_robustness '
                               f'was run with --eval {" ".join(sorted(value))}')
            table[i, int(severity)] = [value[task][m] for m in metrics]
    summary = summarize(table, list(results), aggregate)
    name = filename if isinstance(filename, str) else '<results>'
    print(f'\nmodel: {name}')
    for kind in _prints(prints):
        values = getattr(summary, kind)
        title = dict(P='Performance on Clean Data [P]', mPC='Mean Performance under '
                     'Corruption [mPC]', rPC='Relative Performance under Corruption [rPC]')[kind]
        print(f'{title} ({task})')
        if metric is None:
            _print_coco(values)
        else:
            for m, v in zip(metrics, values):
                print(f'{m:5} => {v * 100:0.1f} %' if kind == 'rPC' else f'{m:5} =  {v:0.3f}')
    return table


def get_voc_style_results(filename: Union[str, Results],
                          prints: Union[str, Sequence[str]] = 'mPC',
                          aggregate: str = 'benchmark') -> np.ndarray:
    """Print P / mPC / rPC in AP50 (mean over classes) of a VOC benchmark; returns the table
    (corruptions, 6, 1) of class-mean AP50."""
    results = load_robustness_results(filename)
    table = np.full((len(results), 6, 1), np.nan, dtype=np.float32)
    for i, per_severity in enumerate(results.values()):
        for severity, per_class in per_severity.items():
            table[i, int(severity), 0] = np.mean([c['ap'] for c in per_class])
    summary = summarize(table, list(results), aggregate)
    name = filename if isinstance(filename, str) else '<results>'
    print(f'\nmodel: {name}')
    chosen = _prints(prints)
    if 'P' in chosen:
        print(f'Performance on Clean Data [P] in AP50 = {summary.P[0]:0.3f}')
    if 'mPC' in chosen:
        print(f'Mean Performance under Corruption [mPC] in AP50 = {summary.mPC[0]:0.3f}')
    if 'rPC' in chosen:
        print(f'Relative Performance under Corruption [rPC] in % = {summary.rPC[0] * 100:0.1f}')
    return table


def get_results(filename: Union[str, Results], dataset: str = 'coco', task: str = 'bbox',
                metric: Optional[Union[str, Sequence[str]]] = None,
                prints: Union[str, Sequence[str]] = 'mPC', aggregate: str = 'benchmark'
                ) -> np.ndarray:
    """2.x's entry point: COCO-style tables for 'coco'/'cityscapes', AP50 for 'voc'."""
    if dataset not in ('coco', 'voc', 'cityscapes'):
        raise ValueError(f"dataset must be 'coco', 'voc' or 'cityscapes', got {dataset!r}")
    if dataset == 'voc':
        if task != 'bbox':
            print('Only bbox analysis is supported for Pascal VOC; reporting bbox')
        if metric not in (None, ['AP'], ['AP50'], 'AP', 'AP50'):
            print('Only the AP50 metric is supported for Pascal VOC; reporting AP50')
        return get_voc_style_results(filename, prints=prints, aggregate=aggregate)
    return get_coco_style_results(filename, task=task, metric=metric, prints=prints,
                                  aggregate=aggregate)


def get_distortions_from_results(results: Results) -> List[str]:
    """The corruption names of ``results``, underscores as spaces (for plot labels)."""
    return [name.replace('_', ' ') for name in results]

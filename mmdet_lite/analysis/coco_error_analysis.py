"""COCO error breakdown (the Hoiem-style analysis of Detectron's ``analyze``, 2.x
``tools/analysis_tools/coco_error_analysis.py``).

For each category and area range, precision-recall curves with successively more errors
forgiven, stacked into one plot:

* ``C75`` / ``C50``: PR at IoU 0.75 / 0.50 (COCO's own);
* ``Loc``: PR at IoU 0.10 (localisation errors forgiven);
* ``Sim``: also detections on objects of another category of the same supercategory ignored;
* ``Oth``: also detections on objects of any other category ignored;
* ``BG``: also every false positive on background removed (precision 1 wherever ``Oth`` has
  recall);
* ``FN``: also the missed objects (precision 1 at every recall).

The legend gives each curve's AP (mean precision over the 101 recall points). The numbers are
``precision[t, r, k, a]`` of pycocotools' ``COCOeval`` (``t`` the 7 stages above, ``r`` recall,
``k`` category, ``a`` area range) with ``maxDets = 100``.
"""
import copy
import os
import os.path as osp
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = ['ERROR_TYPES', 'AREA_NAMES', 'error_breakdown', 'make_plot', 'make_bar_plot',
           'make_gt_area_group_numbers_plot', 'make_gt_area_histogram_plot', 'analyze_results']

ERROR_TYPES = ('C75', 'C50', 'Loc', 'Sim', 'Oth', 'BG', 'FN')
AREA_NAMES = ('allarea', 'small', 'medium', 'large')


def _new_axes():
    """A figure on its own Agg canvas (pyplot's global state and backend stay untouched)."""
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


_COLORS = np.vstack([np.ones((2, 3)), [0.31, 0.51, 0.74], [0.75, 0.31, 0.30],
                     [0.36, 0.90, 0.38], [0.50, 0.39, 0.64], [1, 0.6, 0]])


def _coco_from(dataset: dict) -> COCO:
    coco = COCO()
    coco.dataset = dataset
    coco.createIndex()
    return coco


def _evaluate(gt: COCO, dt: COCO, iou_type: str, iou_thrs: Sequence[float],
              areas: Optional[Sequence[float]]) -> COCOeval:
    evaluator = COCOeval(gt, dt, iou_type)
    evaluator.params.imgIds = gt.getImgIds()
    evaluator.params.iouThrs = np.array(iou_thrs)
    evaluator.params.maxDets = [100]
    if areas:
        evaluator.params.areaRng = [[0, areas[2]], [0, areas[0]], [areas[0], areas[1]],
                                    [areas[1], areas[2]]]
    evaluator.evaluate()
    evaluator.accumulate()
    return evaluator


def _relabelled_gt(coco_gt: COCO, cat_id: int, confused: Sequence[int]) -> COCO:
    """A copy of the ground truth where objects of ``confused`` categories become ignored
    (crowd) objects of ``cat_id``: a detection on them is neither right nor wrong."""
    dataset = copy.deepcopy(coco_gt.dataset)
    for ann in dataset['annotations']:
        if ann['category_id'] in confused and ann['category_id'] != cat_id:
            ann.update(ignore=1, iscrowd=1, category_id=cat_id)
    return _coco_from(dataset)


def _analyze_category(k: int, coco_dt: COCO, coco_gt: COCO, cat_id: int, iou_type: str,
                      areas: Optional[Sequence[float]]) -> Tuple[int, np.ndarray, np.ndarray]:
    """Of one category: ``(k, precision ignoring supercategory confusion (R, A, 1),
    precision ignoring any class confusion (R, A, 1))`` at IoU 0.1."""
    dt_dataset = dict(coco_dt.dataset)
    dt_dataset['annotations'] = [a for a in coco_dt.dataset['annotations']
                                 if a['category_id'] == cat_id]
    dt = _coco_from(dt_dataset)
    supercategory = coco_gt.loadCats(cat_id)[0].get('supercategory')
    siblings = coco_gt.getCatIds(supNms=[supercategory]) if supercategory is not None else []
    ps_super = _evaluate(_relabelled_gt(coco_gt, cat_id, siblings), dt, iou_type, [0.1],
                         areas).eval['precision'][0, :, k]
    ps_all = _evaluate(_relabelled_gt(coco_gt, cat_id, coco_gt.getCatIds()), dt, iou_type,
                       [0.1], areas).eval['precision'][0, :, k]
    return k, ps_super, ps_all


def error_breakdown(coco_gt: COCO, coco_dt: COCO, iou_type: str = 'bbox',
                    areas: Optional[Sequence[float]] = None, nproc: int = 1
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """``(precision (7, R, K, A, 1), recall thresholds (R,))`` for the 7 stages of
    :data:`ERROR_TYPES`; missing values (no ground truth) are 0.

    Args:
        areas: three box-area limits ``[small/medium, medium/large, max]`` replacing COCO's
            area ranges (all = [0, max]); default COCO's.
        nproc: processes for the per-category evaluations.
    """
    if areas is not None and len(areas) != 3:
        raise ValueError(f'areas needs 3 numbers (small/medium, medium/large, max), got {areas}')
    overall = _evaluate(coco_gt, coco_dt, iou_type, [0.75, 0.5, 0.1], areas)
    ps = overall.eval['precision']
    ps = np.vstack([ps, np.zeros((4, *ps.shape[1:]))])
    cat_ids = coco_gt.getCatIds()
    jobs = [(k, coco_dt, coco_gt, cat_id, iou_type, areas) for k, cat_id in enumerate(cat_ids)]
    if nproc > 1:
        with Pool(nproc) as pool:
            per_category = pool.starmap(_analyze_category, jobs)
    else:
        per_category = [_analyze_category(*job) for job in jobs]
    for k, ps_super, ps_all in per_category:
        ps[3, :, k] = ps_super
        ps[4, :, k] = ps_all
    ps[ps == -1] = 0
    ps[5] = ps[4] > 0
    ps[6] = 1.0
    return ps, overall.params.recThrs


def make_plot(rs: np.ndarray, ps: np.ndarray, out_dir: str, class_name: str,
              iou_type: str) -> List[str]:
    """One stacked PR plot per area range, ``{iou_type}-{class_name}-{area}.png``.

    ``ps``: (7, R, A, 1) of one category or (7, R, K, A, 1) of all (averaged over K)."""
    written = []
    for i, area_name in enumerate(AREA_NAMES):
        area_ps = ps[..., i, 0]
        title = f'{iou_type}-{class_name}-{area_name}'
        aps = [p.mean() for p in area_ps]
        curves = [np.zeros(rs.shape)] + [p.mean(axis=1) if p.ndim > 1 else p for p in area_ps]
        fig, ax = _new_axes()
        for k, name in enumerate(ERROR_TYPES):
            ax.plot(rs, curves[k + 1], color=[0, 0, 0], linewidth=0.5)
            ax.fill_between(rs, curves[k], curves[k + 1], color=_COLORS[k],
                            label=f'[{aps[k]:.3f}]{name}')
        ax.set(xlabel='recall', ylabel='precision', xlim=(0, 1.0), ylim=(0, 1.0), title=title)
        # A fixed corner: matplotlib's 'best' placement searches and is slow on stacked fills.
        ax.legend(loc='lower left')
        written.append(osp.join(out_dir, f'{title}.png'))
        fig.savefig(written[-1])
    return written


def _label_bars(ax, rects) -> None:
    for rect in rects:
        height = rect.get_height()
        text = f'{height * 100:2.0f}' if 0 < height <= 1 else f'{height:2.0f}'
        ax.annotate(text, xy=(rect.get_x() + rect.get_width() / 2, height), xytext=(0, 3),
                    textcoords='offset points', ha='center', va='bottom', fontsize='x-small')


def make_bar_plot(rs: np.ndarray, ps: np.ndarray, out_dir: str, class_name: str,
                  iou_type: str) -> str:
    """AP per error stage (but FN) and area range as bars, ``... -ap bar plot.png``."""
    fig, ax = _new_axes()
    x = np.arange(len(AREA_NAMES))
    width = 0.60
    title = f'{iou_type}-{class_name}-ap bar plot'
    for i, name in enumerate(ERROR_TYPES[:-1]):
        aps = [p.mean() for p in ps[i, ..., 0].T]
        _label_bars(ax, ax.bar(x - width / 2 + (i + 1) * width / len(ERROR_TYPES), aps,
                               width / len(ERROR_TYPES), label=name))
    ax.set_ylabel('Mean Average Precision (mAP)')
    ax.set_title(title)
    ax.set_xticks(x)
    ax.set_xticklabels(AREA_NAMES)
    ax.legend(loc='upper right')
    path = osp.join(out_dir, f'{title}.png')
    fig.savefig(path)
    return path


def gt_area_group_numbers(evaluator: COCOeval) -> Dict[str, int]:
    """Non-ignored ground truths per area range label of an evaluated ``COCOeval``."""
    labels = dict(zip([str(r) for r in evaluator.params.areaRng], evaluator.params.areaRngLbl))
    counts = dict.fromkeys(evaluator.params.areaRngLbl, 0)
    for img in evaluator.evalImgs:
        if img:
            counts[labels[str(img['aRng'])]] += int(np.sum(~np.asarray(img['gtIgnore'],
                                                                       dtype=bool)))
    return counts


def make_gt_area_group_numbers_plot(evaluator: COCOeval, out_dir: str) -> str:
    counts = gt_area_group_numbers(evaluator)
    print('number of annotations per area group:', counts)
    fig, ax = _new_axes()
    title = 'number of annotations per area group'
    _label_bars(ax, ax.bar(np.arange(len(counts)), list(counts.values()), 0.60))
    ax.set(ylabel='Number of annotations', title=title, xticks=np.arange(len(counts)))
    ax.set_xticklabels(list(counts))
    fig.tight_layout()
    path = osp.join(out_dir, f'{title}.png')
    fig.savefig(path)
    return path


def make_gt_area_histogram_plot(coco_gt: COCO, out_dir: str) -> str:
    title = 'gt annotation areas histogram plot'
    fig, ax = _new_axes()
    ax.hist(np.sqrt([ann['area'] for ann in coco_gt.anns.values()]), bins=100)
    ax.set(xlabel='Squareroot Area', ylabel='Number of annotations', title=title)
    fig.tight_layout()
    path = osp.join(out_dir, f'{title}.png')
    fig.savefig(path)
    return path


def analyze_results(res_file: str, ann_file: str, res_types: Sequence[str], out_dir: str,
                    extraplots: bool = False, areas: Optional[Sequence[float]] = None,
                    nproc: int = 1) -> Dict[str, np.ndarray]:
    """Plots of every category and of all classes for each of ``res_types`` ('bbox',
    'segm') into ``out_dir/<type>/``; returns the precision arrays by type."""
    for res_type in res_types:
        if res_type not in ('bbox', 'segm'):
            raise ValueError(f'result type {res_type!r}: only bbox and segm are analysed')
    for path in (res_file, ann_file):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path!r} does not exist')
    coco_gt = COCO(ann_file)
    coco_dt = coco_gt.loadRes(res_file)
    out = {}
    for res_type in res_types:
        res_dir = osp.join(out_dir, res_type)
        os.makedirs(res_dir, exist_ok=True)
        ps, rs = error_breakdown(coco_gt, coco_dt, res_type, areas, nproc)
        for k, cat_id in enumerate(coco_gt.getCatIds()):
            name = coco_gt.loadCats(cat_id)[0]['name']
            make_plot(rs, ps[:, :, k], res_dir, name, res_type)
            if extraplots:
                make_bar_plot(rs, ps[:, :, k], res_dir, name, res_type)
        make_plot(rs, ps, res_dir, 'allclass', res_type)
        if extraplots:
            make_bar_plot(rs, ps, res_dir, 'allclass', res_type)
            make_gt_area_group_numbers_plot(_evaluate(coco_gt, coco_dt, res_type, [0.5],
                                                      areas), res_dir)
            make_gt_area_histogram_plot(coco_gt, res_dir)
        out[res_type] = ps
    return out

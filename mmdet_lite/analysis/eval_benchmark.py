"""Time of COCO evaluation on a synthetic, realistically sized result set, side by side.

Two steps of ``tools/test.py --eval bbox segm`` after inference are timed, each both ways in
turn on the same data:

* mask RLE encoding of each image's results: one ``pycocotools.mask.encode`` call per mask
  (mmdetection 2.x's loop) against :func:`~mmdet_lite.core.mask.utils.encode_mask_results`;
* ``CocoDataset.evaluate(metric=['bbox', 'segm'])`` (result json dump, load, COCOeval) with
  pycocotools against faster-coco-eval, whose numbers must be equal.

The data: ``num_images`` (H, W) images with ``gts_per_img`` objects of 80 classes (elliptic
masks), and ``dets_per_img`` detections each (COCO's ``max_per_img``), half of them jittered
ground truths, half random boxes, all with elliptic masks.
"""
import json
import os.path as osp
import tempfile
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from mmengine.logging import MMLogger
from terminaltables import AsciiTable

from ..core.mask.utils import encode_mask_results
from ..datasets import CocoDataset

__all__ = ['per_mask_encode', 'make_eval_case', 'run_eval_benchmark', 'format_eval_benchmark']


def per_mask_encode(cls_segms: Sequence[Sequence[np.ndarray]]) -> List[List[dict]]:
    """mmdetection 2.x's encoding: one ``mask_utils.encode`` call per (H, W) mask."""
    return [[mask_utils.encode(np.asfortranarray(np.asarray(m, dtype=np.uint8)[:, :, None]))[0]
             for m in segms] for segms in cls_segms]


def _boxes(rng: np.random.Generator, num: int, height: int, width: int) -> np.ndarray:
    """(num, 4) integer xyxy boxes of 1/40 to 1/2 of the image side."""
    size = np.array([width, height], dtype=np.float64)
    wh = np.maximum((1 / 40 + rng.random((num, 2)) * (1 / 2 - 1 / 40)) * size, 2)
    xy = rng.random((num, 2)) * (size - wh)
    return np.floor(np.concatenate([xy, xy + wh], axis=1))


def _ellipse(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) bool mask of the ellipse inscribed in ``box`` (computed in the box only)."""
    x1, y1, x2, y2 = [int(v) for v in box]
    x2, y2 = min(max(x2, x1 + 1), width), min(max(y2, y1 + 1), height)
    ys = (np.arange(y1, y2) + 0.5 - (y1 + y2) / 2) / max((y2 - y1) / 2, 0.5)
    xs = (np.arange(x1, x2) + 0.5 - (x1 + x2) / 2) / max((x2 - x1) / 2, 0.5)
    mask = np.zeros((height, width), dtype=bool)
    mask[y1:y2, x1:x2] = ys[:, None] ** 2 + xs[None, :] ** 2 <= 1
    return mask


def make_eval_case(num_images: int, height: int, width: int, gts_per_img: int = 7,
                   dets_per_img: int = 100, num_classes: int = 80, seed: int = 0):
    """(COCO ground-truth dict, per image ``(bbox_results, segm_results)`` with array masks
    generated lazily): an iterator keeps only one image's masks in memory."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    for img_id in range(1, num_images + 1):
        images.append(dict(id=img_id, file_name=f'{img_id:06d}.jpg', width=width,
                           height=height))
        gt_boxes = _boxes(rng, gts_per_img, height, width)
        gt_labels = rng.integers(0, num_classes, gts_per_img)
        for box, label in zip(gt_boxes, gt_labels):
            rle = mask_utils.encode(np.asfortranarray(_ellipse(box, height, width)
                                                      .astype(np.uint8)))
            rle['counts'] = rle['counts'].decode()
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=int(label) + 1,
                             bbox=[float(box[0]), float(box[1]), float(box[2] - box[0]),
                                   float(box[3] - box[1])],
                             area=float(mask_utils.area(rle)), iscrowd=0, segmentation=rle))
        num_tp = dets_per_img // 2
        picks = rng.integers(0, gts_per_img, num_tp)
        jitter = rng.normal(0, 0.1, (num_tp, 4)) * np.tile(
            gt_boxes[picks, 2:] - gt_boxes[picks, :2], 2)
        tp = np.clip(gt_boxes[picks] + jitter, 0, [width, height, width, height])
        labels = np.where(rng.random(num_tp) < 0.8, gt_labels[picks],
                          rng.integers(0, num_classes, num_tp))
        boxes = np.concatenate([tp, _boxes(rng, dets_per_img - num_tp, height, width)])
        labels = np.concatenate([labels, rng.integers(0, num_classes, dets_per_img - num_tp)])
        dets.append((boxes, labels, rng.random(dets_per_img)))
    categories = [dict(id=c + 1, name=f'class_{c}') for c in range(num_classes)]
    gt = dict(images=images, annotations=anns, categories=categories)

    def results():
        for boxes, labels, scores in dets:
            bbox_results, segm_results = [], []
            for c in range(num_classes):
                keep = labels == c
                bbox_results.append(np.concatenate([boxes[keep], scores[keep, None]], axis=1)
                                    .astype(np.float32))
                segm_results.append([_ellipse(b, height, width) for b in boxes[keep]])
            yield bbox_results, segm_results

    return gt, results


def run_eval_benchmark(num_images: int = 500, shape: Sequence[int] = (480, 640),
                       dets_per_img: int = 100, gts_per_img: int = 7, seed: int = 0) -> dict:
    """Seconds of each way of each step (process CPU and wall), and both backends' metrics.

    Returns ``dict(num_images, shape, dets_per_img, encode={way: (cpu_s, wall_s)},
    evaluate={backend: (cpu_s, wall_s)}, metrics={backend: {name: value}}, rle_equal)``.
    """
    height, width = int(shape[0]), int(shape[1])
    gt, results_iter = make_eval_case(num_images, height, width, gts_per_img, dets_per_img,
                                      seed=seed)
    encode = {'per-mask (2.x)': [0.0, 0.0], 'vectorised': [0.0, 0.0]}
    ways = [('per-mask (2.x)', per_mask_encode), ('vectorised', encode_mask_results)]
    results, rle_equal = [], True
    for i, (bbox_results, segm_results) in enumerate(results_iter()):
        encoded = {}
        for name, fn in (ways if i % 2 == 0 else ways[::-1]):
            cpu, wall = time.process_time(), time.perf_counter()
            encoded[name] = fn(segm_results)
            encode[name][0] += time.process_time() - cpu
            encode[name][1] += time.perf_counter() - wall
        rle_equal &= encoded['per-mask (2.x)'] == encoded['vectorised']
        results.append((bbox_results, encoded['vectorised']))

    evaluate: Dict[str, Tuple[float, float]] = {}
    metrics: Dict[str, Dict[str, float]] = {}
    logger = MMLogger.get_instance('mmdet_lite_eval_benchmark', log_level='WARNING')
    with tempfile.TemporaryDirectory() as tmp:
        with open(osp.join(tmp, 'gt.json'), 'w') as f:
            json.dump(gt, f)
        dataset = CocoDataset(ann_file='gt.json', pipeline=[], data_root=tmp, test_mode=True,
                              classes=tuple(c['name'] for c in gt['categories']))
        for backend in ('pycocotools', 'faster'):
            cpu, wall = time.process_time(), time.perf_counter()
            out = dataset.evaluate(results, metric=['bbox', 'segm'], backend=backend,
                                   logger=logger)
            evaluate[backend] = (time.process_time() - cpu, time.perf_counter() - wall)
            metrics[backend] = {k: v for k, v in out.items() if not k.endswith('copypaste')}
    return dict(num_images=num_images, shape=(height, width), dets_per_img=dets_per_img,
                gts_per_img=gts_per_img, encode={k: tuple(v) for k, v in encode.items()},
                evaluate=evaluate, metrics=metrics, rle_equal=rle_equal)


def format_eval_benchmark(report: dict) -> str:
    """Plain-text tables of :func:`run_eval_benchmark`'s report."""
    height, width = report['shape']
    n = report['num_images']
    rows = [['step', 'way', 'CPU s', 'wall s', 'ms/image (CPU)']]
    for name, (cpu, wall) in report['encode'].items():
        rows.append(['mask RLE encoding', name, f'{cpu:.2f}', f'{wall:.2f}',
                     f'{cpu / n * 1e3:.1f}'])
    for name, (cpu, wall) in report['evaluate'].items():
        rows.append(['evaluate bbox + segm', name, f'{cpu:.2f}', f'{wall:.2f}',
                     f'{cpu / n * 1e3:.1f}'])
    ref, fast = report['metrics']['pycocotools'], report['metrics']['faster']
    diff = max(abs(ref[k] - fast[k]) for k in ref)
    return '\n'.join([
        f"{n} images {height}x{width}, {report['gts_per_img']} objects and "
        f"{report['dets_per_img']} detections with masks per image",
        AsciiTable(rows).table,
        f"RLEs equal: {report['rle_equal']}; largest metric difference between the backends: "
        f"{diff:.1e} "
        f"(bbox_mAP {report['metrics']['faster'].get('bbox_mAP', float('nan')):.4f}, "
        f"segm_mAP {report['metrics']['faster'].get('segm_mAP', float('nan')):.4f})"])

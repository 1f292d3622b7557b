"""Recall of occluded and separated COCO masks (Zhan et al., "A Tri-Layer Plugin to Improve
Occluded Detection", BMVC 2022; 2.x ``OccludedSeparatedCocoDataset`` and
``tools/analysis_tools/coco_occluded_separated_recall.py``).

The authors' ``occluded_coco.pkl`` / ``separated_coco.pkl`` list COCO val objects that are
partially occluded (mask connected) or separated into pieces by an occluder, each as
``[image file name, class name, _, bbox, RLE mask, ...]``. An object counts as recalled when a
detection of its class scoring at least ``score_thr`` has mask IoU >= ``iou_thr`` with it;
detections are tried from the highest score down (ties by box x1, then y1), as 2.x does.
mmdet_lite never downloads: get the two files from the paper's page
(https://www.robots.ox.ac.uk/~vgg/research/tpod/) and pass their paths.
"""
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils
from terminaltables import AsciiTable

from ..convert.numpy_pickle import load_numpy_pickle

__all__ = ['load_occlusion_annotations', 'detections_by_image', 'compute_recall',
           'occluded_separated_recall']


def load_occlusion_annotations(path: str) -> List[list]:
    """The object list of an ``occluded_coco.pkl`` / ``separated_coco.pkl`` (read without
    running code)."""
    objects = load_numpy_pickle(path)
    if not isinstance(objects, (list, tuple)) or (objects and len(objects[0]) < 5):
        raise ValueError(f'{path!r} is not an occluded/separated COCO annotation file '
                         '(a list of [file name, class, _, bbox, RLE mask])')
    return list(objects)


def detections_by_image(results: Sequence[Any], filenames: Sequence[str],
                        classes: Sequence[str]) -> Dict[str, List[tuple]]:
    """``{file name: [(score, class name, mask (H, W), box (4,))]}``, best score first, from
    Mask R-CNN style results (``(bbox_results, segm_results)`` per image, masks RLE or
    binary)."""
    if len(results) != len(filenames):
        raise ValueError(f'{len(results)} results for {len(filenames)} images')
    out: Dict[str, List[tuple]] = {}
    for result, filename in zip(results, filenames):
        if not isinstance(result, tuple):
            raise TypeError('The results must be predicted by instance segmentation model '
                            '((bbox_results, segm_results) per image).')
        bbox_result, segm_result = result
        dets = out.setdefault(filename, [])
        for label, (boxes, masks) in enumerate(zip(bbox_result, segm_result)):
            if len(boxes) != len(masks):
                raise ValueError(f'{filename}: class {label} has {len(boxes)} boxes but '
                                 f'{len(masks)} masks')
            for box, mask in zip(boxes, masks):
                mask = mask_utils.decode(mask) if isinstance(mask, dict) else np.asarray(mask)
                dets.append((float(box[4]), classes[label], mask.astype(bool), box[:4]))
        dets.sort(key=lambda d: (-d[0], d[3][0], d[3][1]))
    return out


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.count_nonzero(a & b)
    union = np.count_nonzero(a) + np.count_nonzero(b) - inter
    return inter / union if union else 0.0


def compute_recall(detections: Dict[str, List[tuple]], objects: Sequence[list],
                   score_thr: float = 0.3, iou_thr: float = 0.75) -> Tuple[int, float]:
    """``(objects recalled, recall in %)`` of the occluded or separated ``objects``."""
    correct = 0
    for obj in objects:
        filename, class_name, gt_mask = obj[0], obj[1], mask_utils.decode(obj[4]).astype(bool)
        if filename not in detections:
            raise KeyError(f'no results for image {filename!r}: the results must be of the COCO '
                           'val2017 set the annotation files were made from')
        for score, det_class, det_mask, _ in detections[filename]:
            if score < score_thr:
                break
            if det_class == class_name and _mask_iou(det_mask, gt_mask) >= iou_thr:
                correct += 1
                break
    return correct, (correct / len(objects) * 100 if objects else 0.0)


def occluded_separated_recall(results: Sequence[Any], filenames: Sequence[str],
                              classes: Sequence[str], occluded: Sequence[list],
                              separated: Sequence[list], score_thr: float = 0.3,
                              iou_thr: float = 0.75) -> Dict[str, float]:
    """``occluded_recall`` and ``separated_recall`` in %, with a table printed."""
    detections = detections_by_image(results, filenames, classes)
    occ_num, occ_recall = compute_recall(detections, occluded, score_thr, iou_thr)
    sep_num, sep_recall = compute_recall(detections, separated, score_thr, iou_thr)
    print(AsciiTable([['mask type', 'recall', 'num correct'],
                      ['occluded', f'{occ_recall:.2f}%', occ_num],
                      ['separated', f'{sep_recall:.2f}%', sep_num]]).table)
    return dict(occluded_recall=occ_recall, separated_recall=sep_recall)

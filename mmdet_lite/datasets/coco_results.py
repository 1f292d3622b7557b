"""Detection / segmentation / proposal results to COCO result json files (2.x ``results2json``)."""
from typing import Dict, List, Sequence

import mmengine
import numpy as np

from ..core.mask.utils import encode_mask_results


def xyxy2xywh(bbox: np.ndarray) -> List[float]:
    """[x1, y1, x2, y2, ...] to COCO's [x, y, w, h]."""
    b = [float(v) for v in bbox[:4]]
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def proposal2json(results: list, img_ids: Sequence[int]) -> List[dict]:
    return [dict(image_id=img_id, bbox=xyxy2xywh(box), score=float(box[4]), category_id=1)
            for img_id, boxes in zip(img_ids, results) for box in np.asarray(boxes).reshape(-1, 5)]


def det2json(results: list, img_ids: Sequence[int], cat_ids: Sequence[int]) -> List[dict]:
    out = []
    for img_id, per_class in zip(img_ids, results):
        _check_num_classes(per_class, cat_ids)
        for label, boxes in enumerate(per_class):
            for box in np.asarray(boxes).reshape(-1, 5):
                out.append(dict(image_id=img_id, bbox=xyxy2xywh(box), score=float(box[4]),
                                category_id=cat_ids[label]))
    return out


def segm2json(results: list, img_ids: Sequence[int],
              cat_ids: Sequence[int]) -> (List[dict], List[dict]):
    bbox_json, segm_json = [], []
    for img_id, (det, seg) in zip(img_ids, results):
        _check_num_classes(det, cat_ids)
        if isinstance(seg, tuple):
            segms_all, mask_scores_all = seg
        else:
            segms_all, mask_scores_all = seg, None
        for label, boxes in enumerate(det):
            boxes = np.asarray(boxes).reshape(-1, 5)
            segms = segms_all[label]
            if len(segms) and not isinstance(segms[0], dict):
                segms = encode_mask_results([segms])[0]
            scores = (mask_scores_all[label] if mask_scores_all is not None else boxes[:, 4])
            for i, box in enumerate(boxes):
                bbox_json.append(dict(image_id=img_id, bbox=xyxy2xywh(box), score=float(box[4]),
                                      category_id=cat_ids[label]))
                rle = dict(segms[i])
                if isinstance(rle['counts'], bytes):
                    rle['counts'] = rle['counts'].decode()
                segm_json.append(dict(image_id=img_id, bbox=xyxy2xywh(box),
                                      score=float(scores[i]), category_id=cat_ids[label],
                                      segmentation=rle))
    return bbox_json, segm_json


def _check_num_classes(per_class: list, cat_ids: Sequence[int]) -> None:
    if len(per_class) != len(cat_ids):
        raise ValueError(f'a result holds {len(per_class)} classes but the dataset has '
                         f'{len(cat_ids)} (category ids {list(cat_ids)}); the model\'s '
                         f'num_classes must equal len(dataset.CLASSES)')


def results2json(results: list, outfile_prefix: str, img_ids: Sequence[int],
                 cat_ids: Sequence[int]) -> Dict[str, str]:
    """Dump ``results`` (per image: per-class boxes, (boxes, segms) or proposals (n, 5))."""
    if not results:
        raise ValueError('results2json: the result list is empty')
    files = {}
    first = results[0]
    if isinstance(first, list):
        files['bbox'] = files['proposal'] = f'{outfile_prefix}.bbox.json'
        mmengine.dump(det2json(results, img_ids, cat_ids), files['bbox'])
    elif isinstance(first, tuple):
        bbox_json, segm_json = segm2json(results, img_ids, cat_ids)
        files['bbox'] = files['proposal'] = f'{outfile_prefix}.bbox.json'
        files['segm'] = f'{outfile_prefix}.segm.json'
        mmengine.dump(bbox_json, files['bbox'])
        mmengine.dump(segm_json, files['segm'])
    elif isinstance(first, np.ndarray):
        files['proposal'] = f'{outfile_prefix}.proposal.json'
        mmengine.dump(proposal2json(results, img_ids), files['proposal'])
    else:
        raise TypeError(f'invalid type of results: {type(first).__name__}; expected per-class '
                        f'lists, (bbox, segm) tuples or proposal arrays')
    return files

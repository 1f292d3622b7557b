"""One image's detections as something to show and to download: the drawn RGB image, a
JSON-ready record (boxes, scores, labels, class names, COCO RLE masks) and its way back to
arrays. ``demo/web_demo.py`` is a thin browser front end on these functions.

Shapes: ``n`` detections kept at the score threshold, ``H``/``W`` the original image size.
"""
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_util
from torch import nn

from ..core.visualization import imshow_det_bboxes, unpack_det_result
from .inference import inference_detector

RECORD_FORMAT = 'mmdet_lite.detections/1'


class WebDetection(NamedTuple):
    """What a front end shows for one image at one score threshold."""
    drawn_rgb: np.ndarray          # (H, W, 3) uint8, the detections and masks drawn
    record: Dict[str, Any]         # result_to_json(...): plain JSON types only
    summary: str                   # '3 detections (score > 0.30): 2 x square, 1 x circle'


def _encode_mask(mask: np.ndarray) -> Dict[str, Any]:
    """COCO RLE of one (H, W) mask, ``counts`` as an ASCII string (JSON-ready)."""
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def _decode_mask(rle: Dict[str, Any]) -> np.ndarray:
    return mask_util.decode(dict(size=list(rle['size']),
                                 counts=rle['counts'].encode('ascii'))).astype(bool)


def result_to_json(result: Any, class_names: Optional[Sequence[str]], score_thr: float,
                   img_shape: Sequence[int]) -> Dict[str, Any]:
    """The detections of one image scoring above ``score_thr``, as JSON types.

    Args:
        result: One image's result (docs/conventions.md §3): ``bbox_results`` or
            ``(bbox_results, segm_results)``.
        class_names: Names indexed by label (``model.CLASSES``); None writes ``class <label>``.
        score_thr: Keep detections with ``score > score_thr`` (as the drawing does).
        img_shape: (H, W[, C]) of the image the result belongs to.

    Returns:
        ``{'format', 'image': {'height', 'width'}, 'score_thr', 'has_masks', 'classes',
        'detections': [{'bbox': [x1, y1, x2, y2], 'score', 'label', 'class_name', 'mask'}]}``
        in the model's order (by class, then as its NMS left them); ``mask`` is a COCO RLE
        ``{'size': [H, W], 'counts': str}`` (``pycocotools.mask.decode`` reads it once
        ``counts`` is encoded to bytes), or None for a model without masks.
    """
    bboxes, labels, masks = unpack_det_result(result)
    height, width = int(img_shape[0]), int(img_shape[1])
    if masks is not None and len(masks) and masks.shape[1:] != (height, width):
        raise ValueError(f'the masks are {masks.shape[1:]} but img_shape is {(height, width)}; '
                         'pass the shape of the image the result was computed on')
    if class_names is not None and len(labels) and labels.max() >= len(class_names):
        raise ValueError(f'label {int(labels.max())} has no name: only {len(class_names)} '
                         'class_names given; pass the names of all classes of the model')
    detections: List[Dict[str, Any]] = []
    for i in np.flatnonzero(bboxes[:, 4] > score_thr):
        label = int(labels[i])
        detections.append(dict(
            bbox=[float(v) for v in bboxes[i, :4]],
            score=float(bboxes[i, 4]),
            label=label,
            class_name=class_names[label] if class_names is not None else f'class {label}',
            mask=_encode_mask(masks[i]) if masks is not None else None))
    return {'format': RECORD_FORMAT, 'image': dict(height=height, width=width),
            'score_thr': float(score_thr), 'has_masks': masks is not None,
            'classes': list(class_names) if class_names is not None else None,
            'detections': detections}


def json_to_arrays(record: Dict[str, Any]) -> Dict[str, Optional[np.ndarray]]:
    """Arrays back from :func:`result_to_json`'s record, as :func:`~.inference.result_to_dict`
    gives them: ``bboxes`` float32 (n, 4), ``scores`` float32 (n,), ``labels`` int64 (n,),
    ``masks`` bool (n, H, W) or None."""
    if record.get('format') != RECORD_FORMAT:
        raise ValueError(f"not a detections record: 'format' is {record.get('format')!r}, "
                         f'expected {RECORD_FORMAT!r} (written by result_to_json)')
    dets = record['detections']
    height, width = record['image']['height'], record['image']['width']
    masks = None
    if record['has_masks']:
        masks = np.zeros((0, height, width), dtype=bool)
        if dets:
            masks = np.stack([_decode_mask(d['mask']) for d in dets], axis=0)
    return dict(bboxes=np.array([d['bbox'] for d in dets], dtype=np.float32).reshape(-1, 4),
                scores=np.array([d['score'] for d in dets], dtype=np.float32),
                labels=np.array([d['label'] for d in dets], dtype=np.int64),
                masks=masks)


def summarize_detections(record: Dict[str, Any]) -> str:
    """``'3 detections (score > 0.30): 2 x square, 1 x circle'`` for a record."""
    dets = record['detections']
    head = (f"{len(dets)} detection{'' if len(dets) == 1 else 's'} "
            f"(score > {record['score_thr']:.2f})")
    if not dets:
        return head
    names = [d['class_name'] for d in dets]
    counts = {name: names.count(name) for name in dict.fromkeys(names)}
    return head + ': ' + ', '.join(f'{count} x {name}' for name, count in counts.items())


def draw_detections(image_rgb: np.ndarray, result: Any,
                    class_names: Optional[Sequence[str]], score_thr: float) -> np.ndarray:
    """``image_rgb`` (H, W, 3) uint8 with the boxes, labels and translucent masks scoring above
    ``score_thr`` drawn by :func:`~mmdet_lite.core.visualization.imshow_det_bboxes`; RGB out."""
    bboxes, labels, masks = unpack_det_result(result)
    if masks is not None and len(masks) == 0:
        masks = None
    drawn_bgr = imshow_det_bboxes(np.ascontiguousarray(image_rgb[..., ::-1]), bboxes, labels,
                                  masks, class_names=class_names, score_thr=score_thr,
                                  bbox_color=(72, 101, 241), text_color=(72, 101, 241))
    return np.ascontiguousarray(drawn_bgr[..., ::-1])


def detect_rgb(model: nn.Module, image_rgb: np.ndarray) -> Any:
    """``inference_detector`` on an RGB array (what browsers and PIL give)."""
    image_rgb = _check_rgb(image_rgb)
    return inference_detector(model, np.ascontiguousarray(image_rgb[..., ::-1]))


def present_result(image_rgb: np.ndarray, result: Any,
                   class_names: Optional[Sequence[str]], score_thr: float) -> WebDetection:
    """The drawn image, the JSON record and the one-line summary of ``result`` at
    ``score_thr`` (no inference: a moved threshold redraws the same result)."""
    image_rgb = _check_rgb(image_rgb)
    record = result_to_json(result, class_names, score_thr, image_rgb.shape)
    return WebDetection(draw_detections(image_rgb, result, class_names, score_thr), record,
                        summarize_detections(record))


def _check_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 from an RGB, RGBA or grey array."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f'expected an RGB image (H, W, 3), got an array of shape {image.shape}')
    if image.dtype != np.uint8:
        raise ValueError(f'expected a uint8 image, got {image.dtype}')
    return image[..., :3]

"""Draw detections (boxes, class names, scores, translucent masks) on images with OpenCV.

Everything works headless: nothing opens a window unless ``show=True`` is asked for.
Shapes: ``n`` detections, ``H``/``W`` the image size. Images are BGR uint8 (OpenCV/mmcv).
"""
import os
import os.path as osp
import sys
from typing import Any, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch

from .palette import ColorSpec, get_palette
from .results import unpack_det_result
from ...core.utils.errors import ValueTypeError

MASK_ALPHA = 0.5
LABEL_BG_ALPHA = 0.8


def _load_image(img: Union[str, np.ndarray]) -> np.ndarray:
    """A BGR uint8 copy of ``img`` (a path or an (H, W[, C]) array)."""
    if isinstance(img, str):
        if not osp.isfile(img):
            raise FileNotFoundError(f'image file {img!r} does not exist')
        loaded = mmcv.imread(img)
        if loaded is None:
            raise ValueError(f'could not decode image file {img!r}')
        return loaded
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f'an image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got '
                         f'shape {img.shape}')
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    if img.dtype != np.uint8:
        img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img).copy()


def _to_array(x: Any, name: str, ndim: int) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != ndim:
        raise ValueTypeError(f'{name} must have {ndim} dimensions, got shape {x.shape}')
    return x


def _bgr(rgb: Sequence[int]) -> tuple:
    return (int(rgb[2]), int(rgb[1]), int(rgb[0]))


def has_display() -> bool:
    """Whether a window can be opened: on Linux an X11 or Wayland display must be set (without
    one, OpenCV's Qt GUI aborts the whole process instead of raising)."""
    if sys.platform.startswith('linux'):
        return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
    return True


def _show(img: np.ndarray, win_name: str, wait_time: int) -> None:
    if not has_display():
        raise RuntimeError('show=True needs a display (DISPLAY is not set); on a headless '
                           'machine pass out_file=... instead')
    try:
        cv2.imshow(win_name or 'image', img)
        cv2.waitKey(wait_time)
    except cv2.error as err:
        raise RuntimeError('show=True needs an OpenCV build with GUI support; pass '
                           'out_file=... instead') from err


def _draw_label(img: np.ndarray, text: str, x1: int, y1: int, text_rgb: Sequence[int],
                font_size: int) -> None:
    """``text`` in ``text_rgb`` on a darkened box just above (x1, y1), or inside the top of
    the detection when there is no room above (as mmdetection 2.x: black at 80 % opacity)."""
    scale = max(font_size, 4) / 22.0
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    h, w = img.shape[:2]
    top = y1 - th - baseline - 2
    if top < 0:
        top = min(max(y1, 0), max(h - th - baseline - 2, 0))
    left = min(max(x1, 0), max(w - tw - 2, 0))
    bottom, right = min(top + th + baseline + 2, h), min(left + tw + 2, w)
    region = img[top:bottom, left:right]
    region[:] = np.round(region.astype(np.float32) * (1 - LABEL_BG_ALPHA)).astype(np.uint8)
    cv2.putText(img, text, (left + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                _bgr(text_rgb), 1, cv2.LINE_AA)


def imshow_det_bboxes(img: Union[str, np.ndarray],
                      bboxes: Optional[np.ndarray] = None,
                      labels: Optional[np.ndarray] = None,
                      segms: Optional[np.ndarray] = None,
                      class_names: Optional[Sequence[str]] = None,
                      score_thr: float = 0,
                      bbox_color: ColorSpec = 'green',
                      text_color: ColorSpec = 'green',
                      mask_color: ColorSpec = None,
                      thickness: int = 2,
                      font_size: int = 13,
                      win_name: str = '',
                      show: bool = False,
                      wait_time: int = 0,
                      out_file: Optional[str] = None) -> np.ndarray:
    """Draw boxes, labels and masks on an image (mmdetection 2.x signature).

    Args:
        img: Image path or BGR array (H, W, 3).
        bboxes: (n, 4) ``[x1, y1, x2, y2]`` or (n, 5) with a score column.
        labels: (n,) class indices.
        segms: (n, H, W) masks (bool or 0/1), or None.
        class_names: Names indexed by label; ``None`` writes ``class <label>``.
        score_thr: Keep detections with score > ``score_thr`` (needs (n, 5) boxes when > 0).
        bbox_color, text_color, mask_color: A colour name, an (R, G, B) tuple, a list with one
            (R, G, B) per class, or None/'random' for seeded random per-class colours.
            ``text_color=None`` writes the label in the box colour. Labels sit on a box
            darkened to 20 % of the image.
        thickness: Box line width in pixels.
        font_size: Label text height in pixels (approximately).
        win_name, show, wait_time: Display in an OpenCV window (only when ``show=True``).
        out_file: Save the drawn image there (format from the extension, e.g. .png/.jpg).

    Returns:
        The drawn BGR uint8 image (H, W, 3); the input is not modified.
    """
    canvas = _load_image(img)
    h, w = canvas.shape[:2]
    if bboxes is None:
        bboxes = np.zeros((0, 4), dtype=np.float32)
    bboxes = _to_array(bboxes, 'bboxes', 2).astype(np.float32)
    if bboxes.shape[1] not in (4, 5):
        raise ValueError(f'bboxes must be (n, 4) or (n, 5), got shape {bboxes.shape}')
    if labels is None:
        labels = np.zeros(len(bboxes), dtype=np.int64)
    labels = _to_array(labels, 'labels', 1).astype(np.int64)
    if len(labels) != len(bboxes):
        raise ValueError(f'{len(bboxes)} bboxes but {len(labels)} labels; give one label per box')
    if segms is not None:
        segms = _to_array(segms, 'segms', 3).astype(bool)
        if len(segms) != len(bboxes) and len(bboxes) > 0:
            raise ValueError(f'{len(bboxes)} bboxes but {len(segms)} masks; give one per box')
        if len(segms) and segms.shape[1:] != (h, w):
            raise ValueError(f'masks are {segms.shape[1:]} but the image is {(h, w)}; masks '
                             'must be at the image size')
    if score_thr > 0:
        if bboxes.shape[1] != 5:
            raise ValueError('score_thr > 0 needs scores: give bboxes as (n, 5)')
        keep = bboxes[:, 4] > score_thr
        bboxes, labels = bboxes[keep], labels[keep]
        if segms is not None and len(segms):
            segms = segms[keep]
    if class_names is not None and len(labels) and labels.max() >= len(class_names):
        raise ValueError(f'label {int(labels.max())} has no name: only {len(class_names)} '
                         'class_names given; pass the names of all classes of the model')

    num_colors = int(labels.max()) + 1 if len(labels) else 0
    if class_names is not None:
        num_colors = max(num_colors, len(class_names))
    box_palette = get_palette(bbox_color, num_colors)
    text_palette = None if text_color is None else get_palette(text_color, num_colors)
    mask_palette = get_palette(mask_color, num_colors)

    if segms is not None and len(segms):
        for mask, label in zip(segms, labels):
            color = np.array(_bgr(mask_palette[label]), dtype=np.float32)
            blended = canvas[mask].astype(np.float32) * (1 - MASK_ALPHA) + color * MASK_ALPHA
            canvas[mask] = np.round(blended).astype(np.uint8)
            contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                           cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(canvas, contours, -1, _bgr(mask_palette[label]), 1)

    for box, label in zip(bboxes, labels):
        x1, y1, x2, y2 = (int(round(float(v))) for v in box[:4])
        color = box_palette[label]
        cv2.rectangle(canvas, (x1, y1), (x2, y2), _bgr(color), thickness)
        name = class_names[label] if class_names is not None else f'class {label}'
        text = f'{name}|{box[4]:.02f}' if len(box) == 5 else str(name)
        _draw_label(canvas, text, x1, y1,
                    color if text_palette is None else text_palette[label], font_size)

    if show:
        _show(canvas, win_name, wait_time)
    if out_file is not None:
        if not mmcv.imwrite(canvas, out_file):
            raise OSError(f'could not write {out_file!r}; check the folder and that the '
                          'extension is an image format (.png, .jpg, ...)')
    return canvas


def imshow_det_result(img: Union[str, np.ndarray],
                      result: Any,
                      class_names: Optional[Sequence[str]] = None,
                      score_thr: float = 0.3,
                      out_file: Optional[str] = None,
                      show: bool = False,
                      bbox_color: ColorSpec = (72, 101, 241),
                      text_color: ColorSpec = (72, 101, 241),
                      mask_color: ColorSpec = None,
                      thickness: int = 2,
                      font_size: int = 13,
                      win_name: str = '',
                      wait_time: int = 0) -> np.ndarray:
    """Draw one image's result (docs/conventions.md §3) and return the BGR image (H, W, 3).

    ``result`` is ``bbox_results``, ``(bbox_results, segm_results)`` or an (n, 5) array of
    proposals; see :func:`imshow_det_bboxes` for the other arguments.
    """
    bboxes, labels, segms = unpack_det_result(result)
    if segms is not None and len(segms) == 0:
        segms = None
    return imshow_det_bboxes(img, bboxes, labels, segms, class_names=class_names,
                             score_thr=score_thr, bbox_color=bbox_color, text_color=text_color,
                             mask_color=mask_color, thickness=thickness, font_size=font_size,
                             win_name=win_name, show=show, wait_time=wait_time,
                             out_file=out_file)


def color_val_matplotlib(color: Union[mmcv.Color, str, Sequence[int], int, np.ndarray]
                         ) -> Tuple[float, float, float]:
    """mmdetection 2.x's colour conversion: ``mmcv.color_val`` input, which is BGR (an
    ``mmcv.Color``, a name, a (B, G, R) tuple or ndarray, or one int for all channels), as
    matplotlib's (R, G, B) floats in [0, 1]. Unlike the palettes here, tuples are BGR, as in 2.x.
    """
    blue, green, red = mmcv.color_val(color)
    return (red / 255, green / 255, blue / 255)


def imshow_gt_det_bboxes(img: Union[str, np.ndarray],
                         annotation: dict,
                         result: Any,
                         class_names: Optional[Sequence[str]] = None,
                         score_thr: float = 0,
                         gt_bbox_color: ColorSpec = (61, 102, 255),
                         gt_text_color: ColorSpec = (200, 200, 200),
                         gt_mask_color: ColorSpec = (61, 102, 255),
                         det_bbox_color: ColorSpec = (241, 101, 72),
                         det_text_color: ColorSpec = (200, 200, 200),
                         det_mask_color: ColorSpec = (241, 101, 72),
                         thickness: int = 2,
                         font_size: int = 13,
                         win_name: str = '',
                         show: bool = False,
                         wait_time: int = 0,
                         out_file: Optional[str] = None,
                         overlay_gt_pred: bool = True) -> np.ndarray:
    """Ground truth and detections of one image (mmdetection 2.x signature).

    Args:
        annotation: ``gt_bboxes`` (k, 4), ``gt_labels`` (k,) and optionally ``gt_masks``
            (a ``BitmapMasks``/``PolygonMasks`` or a (k, H, W) array).
        result: The detections (docs/conventions.md §3).
        overlay_gt_pred: Draw both on one image; else ground truth above, detections below.

    Returns:
        The drawn BGR image: (H, W, 3), or (2H, W, 3) when not overlaid.
    """
    if 'gt_bboxes' not in annotation or 'gt_labels' not in annotation:
        raise KeyError("annotation needs 'gt_bboxes' and 'gt_labels' (and optionally "
                       "'gt_masks')")
    canvas = _load_image(img)
    gt_masks = annotation.get('gt_masks')
    if gt_masks is not None and hasattr(gt_masks, 'to_ndarray'):
        gt_masks = gt_masks.to_ndarray()
    gt_img = imshow_det_bboxes(canvas, annotation['gt_bboxes'], annotation['gt_labels'],
                               gt_masks, class_names=class_names, bbox_color=gt_bbox_color,
                               text_color=gt_text_color, mask_color=gt_mask_color,
                               thickness=thickness, font_size=font_size)
    bboxes, labels, segms = unpack_det_result(result)
    if segms is not None and len(segms) == 0:
        segms = None
    det_img = imshow_det_bboxes(gt_img if overlay_gt_pred else canvas, bboxes, labels, segms,
                                class_names=class_names, score_thr=score_thr,
                                bbox_color=det_bbox_color, text_color=det_text_color,
                                mask_color=det_mask_color, thickness=thickness,
                                font_size=font_size)
    drawn = det_img if overlay_gt_pred else np.concatenate([gt_img, det_img], axis=0)
    if show:
        _show(drawn, win_name, wait_time)
    if out_file is not None and not mmcv.imwrite(drawn, out_file):
        raise OSError(f'could not write {out_file!r}; check the folder and the extension')
    return drawn

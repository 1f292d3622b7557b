"""Load images, annotations and proposals into the pipeline's ``results`` dict (2.x names)."""
import io
import logging
import os.path as osp
from typing import List, Optional

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
from mmengine import fileio
from mmengine.logging import print_log
from PIL import Image

from ...core.mask.structures import BitmapMasks, PolygonMasks
from ...registry import TRANSFORMS
from ..annotation_error import AnnotationError


def _referenced_by(results: dict) -> str:
    """Which image entry (and annotation file) asked for the file: for error messages."""
    info = results.get('img_info', {})
    entry = ', '.join(f'{k}={info[k]!r}' for k in ('id', 'file_name', 'filename') if k in info)
    ann_file = results.get('ann_file')
    where = f' in {ann_file}' if ann_file else ''
    return f'image entry ({entry}){where}' if entry else f'a sample{where}'


def _looks_truncated(content: bytes, filename: str) -> bool:
    """JPEG without its end-of-image marker, or PNG without its IEND chunk."""
    if content[:3] == b'\xff\xd8\xff':
        return b'\xff\xd9' not in content[-64:]
    if content[:8] == b'\x89PNG\r\n\x1a\n':
        return b'IEND' not in content[-32:]
    return False


_WARNED_SIZES = set()  # (file name, decoded size): warned once per process


def _exif_orientation(content: bytes) -> int:
    """The EXIF orientation tag of an image file (1: upright, or no tag)."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return int(image.getexif().get(0x0112, 1))
    except Exception:  # no EXIF or not an image Pillow reads: nothing to report
        return 1


def _size_differs(results: dict, img: np.ndarray, content: bytes, filename: str,
                  color_type: str) -> bool:
    """Warn (once per file) when the decoded image is not the ``height`` x ``width`` of its
    annotation entry; True for a training sample (with ``ann_info``), whose boxes and masks are
    in the annotation's pixels and would be wrong on this image.

    The boxes are not rescaled: a wrong ``height``/``width`` and an image re-saved at another
    size look alike, and only one of them means the boxes are wrong.
    """
    info = results.get('img_info') or {}
    expected = (info.get('height'), info.get('width'))
    if not all(isinstance(v, (int, np.integer)) and v > 0 for v in expected):
        return False
    actual = tuple(img.shape[:2])
    if actual == expected:
        return False
    training = 'ann_info' in results
    if (filename, actual) not in _WARNED_SIZES:
        _WARNED_SIZES.add((filename, actual))
        orientation = _exif_orientation(content) if actual == expected[::-1] else 1
        why = ''
        if orientation in (5, 6, 7, 8) and 'ignore_orientation' not in color_type:
            why = (f' The file is stored rotated (EXIF orientation {orientation}) and is '
                   'decoded upright, as mmdetection 2.x does; if the annotations were made on '
                   "the stored pixels, use LoadImageFromFile(color_type='color_ignore_"
                   "orientation').")
        effect = ('skipped in training (its boxes and masks would not fit)' if training else
                  'detections are in the pixels of the file')
        print_log(f'image file {filename!r} is {actual[0]}x{actual[1]} (height x width) but '
                  f'{_referenced_by(results)} says {expected[0]}x{expected[1]}: {effect}. Fix '
                  f'the height/width of the entry or the image.{why}', logger='current',
                  level=logging.WARNING)
    return training


@TRANSFORMS.register_module()
class LoadImageFromFile:
    """Read ``img_prefix/img_info['filename']``; set img, img_shape, ori_shape, filename.

    Args:
        to_float32: convert to float32 (default keeps uint8).
        color_type: mmcv flag ('color', 'grayscale', 'unchanged').
        channel_order: 'bgr' (2.x default) or 'rgb'.
        file_client_args: 2.x name; passed to ``mmengine.fileio`` as ``backend_args``.
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 channel_order: str = 'bgr', file_client_args: Optional[dict] = None):
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order
        self.file_client_args = dict(file_client_args or dict(backend='disk'))
        args = self.file_client_args
        self.backend_args = None if args.get('backend', 'disk') in ('disk', 'local') else args

    def __call__(self, results: dict) -> dict:
        name = results['img_info']['filename']
        prefix = results.get('img_prefix')
        filename = osp.join(prefix, name) if prefix else name
        try:
            content = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'image file {filename!r} not found; it is referenced by '
                f'{_referenced_by(results)}. Check data_root/img_prefix or remove the entry.') from e
        img = None
        if content and not _looks_truncated(content, filename):
            try:
                img = mmcv.imfrombytes(content, flag=self.color_type,
                                       channel_order=self.channel_order)
            except Exception:  # decoders raise many types for corrupt data
                img = None
        if img is None:
            raise ValueError(
                f'image file {filename!r} ({len(content)} bytes) is unreadable or truncated; '
                f'it is referenced by {_referenced_by(results)}. Re-create or remove the file.')
        if _size_differs(results, img, content, filename, self.color_type):
            return None  # a training sample whose boxes do not fit: the dataset draws another
        return self._store_img(results, img, filename, name)

    def _store_img(self, results: dict, img: np.ndarray, filename: Optional[str],
                   ori_filename: Optional[str]) -> dict:
        """Put ``img`` (H, W, 3) or (H, W), as float32 if ``to_float32``, into ``results`` with
        its file names, ``img_shape`` / ``ori_shape`` and ``img_fields=['img']``."""
        if self.to_float32:
            img = img.astype(np.float32)
        results['filename'] = filename
        results['ori_filename'] = ori_filename
        results['img'] = img
        results['img_shape'] = img.shape
        results['ori_shape'] = img.shape
        results['img_fields'] = ['img']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', channel_order='{self.channel_order}', "
                f'file_client_args={self.file_client_args})')


@TRANSFORMS.register_module()
class LoadImageFromWebcam(LoadImageFromFile):
    """Take an ndarray already in ``results['img']`` (inference on arrays); no file is read."""

    def __call__(self, results: dict) -> dict:
        return self._store_img(results, results['img'], None, None)


@TRANSFORMS.register_module()
class LoadAnnotations:
    """Copy boxes, labels, masks (and semantic maps) from ``results['ann_info']``.

    Args:
        with_bbox, with_label, with_mask, with_seg: what to load.
        poly2mask: rasterise masks to ``BitmapMasks``; else keep ``PolygonMasks``.
        denorm_bbox: boxes are normalised to [0, 1]; multiply by the image size.
    """

    def __init__(self, with_bbox: bool = True, with_label: bool = True, with_mask: bool = False,
                 with_seg: bool = False, poly2mask: bool = True, denorm_bbox: bool = False,
                 file_client_args: Optional[dict] = None):
        self.with_bbox = with_bbox
        self.with_label = with_label
        self.with_mask = with_mask
        self.with_seg = with_seg
        self.poly2mask = poly2mask
        self.denorm_bbox = denorm_bbox
        args = dict(file_client_args or dict(backend='disk'))
        self.backend_args = None if args.get('backend', 'disk') in ('disk', 'local') else args

    def _load_bboxes(self, results: dict) -> None:
        ann = results['ann_info']
        bboxes = np.asarray(ann['bboxes'], dtype=np.float32).reshape(-1, 4).copy()
        if self.denorm_bbox and len(bboxes):
            h, w = results['img_shape'][:2]
            bboxes[:, 0::2] *= w
            bboxes[:, 1::2] *= h
        results['gt_bboxes'] = bboxes
        results.setdefault('bbox_fields', []).append('gt_bboxes')
        ignore = ann.get('bboxes_ignore')
        if ignore is not None:
            results['gt_bboxes_ignore'] = np.asarray(ignore, np.float32).reshape(-1, 4).copy()
            results['bbox_fields'].append('gt_bboxes_ignore')

    @staticmethod
    def _poly2mask(mask_ann, img_h: int, img_w: int) -> np.ndarray:
        """A COCO polygon list, uncompressed RLE or RLE to a uint8 (H, W) bitmap."""
        if isinstance(mask_ann, list):
            # polygons of fewer than 3 points left out: pycocotools reads 4 numbers as a box
            rle = mask_utils.merge(mask_utils.frPyObjects(
                LoadAnnotations.process_polygons(mask_ann), img_h, img_w))
        elif isinstance(mask_ann.get('counts'), list):
            rle = mask_utils.frPyObjects(mask_ann, img_h, img_w)
        else:
            rle = mask_ann
        return mask_utils.decode(rle).astype(np.uint8)

    @staticmethod
    def process_polygons(polygons) -> list:
        """Keep polygons with an even number (>= 6) of coordinates, as float ndarrays."""
        return [np.asarray(p, dtype=np.float64) for p in polygons
                if len(p) % 2 == 0 and len(p) >= 6]

    def _usable_masks(self, results: dict, h: int, w: int) -> List[bool]:
        """Per instance: True for a polygon list or an RLE of the image's size, False for a
        polygon list with no polygon of 3 or more points (the instance is left out, as
        detectron2 does; the dataset logs their ids); anything else is an error naming the
        annotation."""
        ann = results['ann_info']
        ann_ids = ann.get('ann_ids') or [f'#{i} of the image' for i in range(len(ann['masks']))]
        usable = []
        for ann_id, mask in zip(ann_ids, ann['masks']):
            where = f'annotation id={ann_id} of {_referenced_by(results)}'
            if isinstance(mask, list):
                usable.append(bool(self.process_polygons(mask)))
                continue
            if mask is None:
                raise AnnotationError(
                    f"{where} has no 'segmentation', but the pipeline loads masks "
                    '(LoadAnnotations with_mask=True): add the segmentations, or train a '
                    'box-only model (with_mask=False and no mask head)')
            if not (isinstance(mask, dict) and 'counts' in mask and 'size' in mask):
                raise AnnotationError(
                    f'{where}: its segmentation is neither a list of polygons nor an RLE dict '
                    f'with counts and size (got {str(mask)[:80]})')
            if list(mask['size']) != [h, w]:
                raise AnnotationError(
                    f'{where}: its RLE mask is {mask["size"][0]}x{mask["size"][1]} but the '
                    f'image entry is {h}x{w} (height x width); fix the entry or the mask')
            if not self.poly2mask:
                raise AnnotationError(
                    f'{where}: LoadAnnotations(poly2mask=False) needs polygon masks but this '
                    'one is an RLE; use poly2mask=True')
            usable.append(True)
        return usable

    def _load_masks(self, results: dict) -> None:
        h, w = results['img_info']['height'], results['img_info']['width']
        usable = self._usable_masks(results, h, w)
        anns = [a for a, keep in zip(results['ann_info']['masks'], usable) if keep]
        if self.poly2mask:
            masks = BitmapMasks([self._poly2mask(a, h, w) for a in anns], h, w)
        else:
            masks = PolygonMasks([self.process_polygons(a) for a in anns], h, w)
        if not all(usable):  # boxes and labels of the instances left out go too
            kept = np.flatnonzero(usable)
            for key in ('gt_bboxes', 'gt_labels'):
                if key in results:
                    results[key] = results[key][kept]
        results['gt_masks'] = masks
        results.setdefault('mask_fields', []).append('gt_masks')

    def _load_semantic_seg(self, results: dict) -> None:
        filename = osp.join(results.get('seg_prefix') or '', results['ann_info']['seg_map'])
        content = fileio.get(filename, backend_args=self.backend_args)
        results['gt_semantic_seg'] = mmcv.imfrombytes(content, flag='unchanged').squeeze()
        results.setdefault('seg_fields', []).append('gt_semantic_seg')

    def __call__(self, results: dict) -> dict:
        if self.with_bbox:
            self._load_bboxes(results)
        if self.with_label:
            results['gt_labels'] = np.asarray(results['ann_info']['labels'], np.int64).copy()
        if self.with_mask:
            self._load_masks(results)
        if self.with_seg:
            self._load_semantic_seg(results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_bbox={self.with_bbox}, with_label='
                f'{self.with_label}, with_mask={self.with_mask}, with_seg={self.with_seg}, '
                f'poly2mask={self.poly2mask})')


@TRANSFORMS.register_module()
class LoadProposals:
    """Copy ``results['proposals']`` (n, 4|5) into the pipeline, keeping the first N."""

    def __init__(self, num_max_proposals: Optional[int] = None):
        self.num_max_proposals = num_max_proposals

    def __call__(self, results: dict) -> dict:
        proposals = np.asarray(results['proposals'], dtype=np.float32)
        if proposals.ndim != 2 or proposals.shape[1] not in (4, 5):
            raise ValueError(f'proposals must have shape (n, 4) or (n, 5), got {proposals.shape}')
        proposals = proposals[:, :4]
        if self.num_max_proposals is not None:
            proposals = proposals[:self.num_max_proposals]
        results['proposals'] = proposals if len(proposals) else np.zeros((0, 4), np.float32)
        results.setdefault('bbox_fields', []).append('proposals')
        return results

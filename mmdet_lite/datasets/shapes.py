"""Built-in synthetic instance-segmentation data ("shapes") in COCO format, and its dataset.

``generate_shapes(out_dir, ...)`` draws circles, triangles, squares and stars with random
colours, sizes and rotations on textured backgrounds; later shapes occlude earlier ones.
Every image is drawn from its own seeded generator, so the same arguments always give the
same bytes. Unoccluded objects are stored as polygons, occluded ones as compressed RLE.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from ..core.evaluation.class_names import shapes_classes
from ..registry import DATASETS
from .coco import CocoDataset

SHAPES_VERSION = 1
_META_FILE = 'shapes_meta.json'


def _regular_polygon(cx: float, cy: float, radius: float, sides: int, angle: float,
                     inner_ratio: Optional[float] = None) -> np.ndarray:
    """Vertices (k, 2) of a regular polygon, or of a star when ``inner_ratio`` is given."""
    if inner_ratio is None:
        t = angle + np.arange(sides) * 2 * np.pi / sides
        r = np.full(sides, radius)
    else:
        t = angle + np.arange(2 * sides) * np.pi / sides
        r = np.where(np.arange(2 * sides) % 2 == 0, radius, radius * inner_ratio)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def _shape_polygon(kind: str, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    if kind == 'circle':
        return _regular_polygon(cx, cy, radius, 32, 0.0)
    if kind == 'triangle':
        return _regular_polygon(cx, cy, radius, 3, angle)
    if kind == 'square':
        return _regular_polygon(cx, cy, radius, 4, angle)
    if kind == 'star':
        return _regular_polygon(cx, cy, radius, 5, angle, inner_ratio=0.45)
    raise ValueError(f'unknown shape {kind!r}')


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dim textured background: a colour gradient, stripes and noise (uint8 BGR)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(20, 110, size=3)
    tilt = rng.uniform(-40, 40, size=(2, 3))
    img = base + xx[..., None] * tilt[0] + yy[..., None] * tilt[1]
    freq, phase, theta = rng.uniform(4, 14), rng.uniform(0, 2 * np.pi), rng.uniform(0, np.pi)
    stripes = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
    img += stripes[..., None] * rng.uniform(5, 20)
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _bright_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour with at least one strong channel (stands out from the background)."""
    colour = rng.uniform(0, 255, size=3)
    colour[rng.integers(3)] = rng.uniform(180, 255)
    return colour


def draw_image(rng: np.random.Generator, size: int, classes: List[str],
               max_objects: int = 4, min_visible: float = 0.5) -> Tuple[np.ndarray, List[dict]]:
    """One image (size, size, 3) uint8 and its objects: class index, polygon, visible mask."""
    img = _background(rng, size)
    objects: List[dict] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        kind = int(rng.integers(len(classes)))
        radius = rng.uniform(0.09, 0.22) * size
        cx, cy = rng.uniform(radius, size - radius, size=2)
        poly = _shape_polygon(classes[kind], cx, cy, radius, rng.uniform(0, 2 * np.pi))
        flat = poly.reshape(-1).tolist()
        mask = mask_utils.decode(mask_utils.frPyObjects([flat], size, size)[0]).astype(bool)
        if mask.sum() < 30:
            continue
        # the new shape hides what is under it; drop objects that become mostly hidden
        kept = []
        for obj in objects:
            obj['visible'] &= ~mask
            if obj['visible'].sum() >= min_visible * obj['full_area']:
                kept.append(obj)
        objects = kept
        colour = _bright_colour(rng)
        noise = rng.normal(0, 8, size=(int(mask.sum()), 3))
        img[mask] = np.clip(colour[None, :] + noise, 0, 255).astype(np.uint8)
        objects.append(dict(label=kind, polygon=flat, visible=mask.copy(),
                            full_area=int(mask.sum())))
    return img, objects


def _annotation(obj: dict, ann_id: int, img_id: int, size: int) -> dict:
    visible = obj['visible']
    ys, xs = np.nonzero(visible)
    bbox = [float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()),
            float(ys.max() + 1 - ys.min())]
    if visible.sum() == obj['full_area']:
        segmentation = [[round(v, 2) for v in obj['polygon']]]
    else:
        rle = mask_utils.encode(np.asfortranarray(visible.astype(np.uint8)))
        segmentation = dict(size=[size, size], counts=rle['counts'].decode())
    return dict(id=ann_id, image_id=img_id, category_id=obj['label'] + 1, bbox=bbox,
                area=float(visible.sum()), iscrowd=0, segmentation=segmentation)


def _write_split(out_dir: str, split: str, num_images: int, size: int, seed: int,
                 classes: List[str]) -> None:
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    images, annotations = [], []
    split_id = {'train': 0, 'val': 1}[split]
    bar = ProgressBar(num_images)
    for idx in range(num_images):
        rng = np.random.default_rng([seed, split_id, idx])
        img, objects = draw_image(rng, size, classes)
        file_name = f'{split}/{idx:06d}.png'
        cv2.imwrite(osp.join(out_dir, file_name), img)
        img_id = idx + 1
        images.append(dict(id=img_id, file_name=file_name, width=size, height=size))
        for obj in objects:
            annotations.append(_annotation(obj, len(annotations) + 1, img_id, size))
        bar.update()
    print()
    categories = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(classes)]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f,
                  sort_keys=True)


def generate_shapes(out_dir: str, num_train: int = 300, num_val: int = 50, img_size: int = 128,
                    seed: int = 0, overwrite: bool = False) -> Dict[str, str]:
    """Write ``out_dir/{train,val}/*.png`` and ``out_dir/annotations/instances_{split}.json``.

    Skips the work when ``out_dir`` already holds data made with the same arguments; data
    made with other arguments is replaced. The folder appears atomically (built next to it,
    then renamed), so an interrupted run never leaves half a dataset.
    Returns the paths of the two annotation files.
    """
    meta = dict(version=SHAPES_VERSION, num_train=num_train, num_val=num_val,
                img_size=img_size, seed=seed, classes=shapes_classes())
    out_dir = osp.abspath(out_dir)
    paths = {s: osp.join(out_dir, 'annotations', f'instances_{s}.json') for s in ('train', 'val')}
    meta_path = osp.join(out_dir, _META_FILE)
    if not overwrite and osp.isfile(meta_path):
        with open(meta_path) as f:
            if json.load(f) == meta:
                return paths
        print_log(f'{out_dir} holds shapes data made with other settings; regenerating',
                  logger='current')
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.shapes_tmp_', dir=parent)
    try:
        print_log(f'Generating the shapes dataset in {out_dir} ({num_train} train, {num_val} val '
                  f'images of {img_size}x{img_size}, seed {seed})', logger='current')
        for split, num in (('train', num_train), ('val', num_val)):
            _write_split(tmp, split, num, img_size, seed, shapes_classes())
        with open(osp.join(tmp, _META_FILE), 'w') as f:
            json.dump(meta, f, sort_keys=True)
        if osp.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return paths


@DATASETS.register_module()
class ShapesDataset(CocoDataset):
    """``CocoDataset`` over the shapes data, generated into ``data_root`` on first use.

    Args:
        num_train, num_val, img_size, seed: generator settings (see ``generate_shapes``).
        Other arguments as ``CocoDataset`` (``data_root`` is required).
    """

    CLASSES = tuple(shapes_classes())

    def __init__(self, ann_file: str, pipeline: list, data_root: str = 'data/shapes/',
                 num_train: int = 300, num_val: int = 50, img_size: int = 128, seed: int = 0,
                 **kwargs):
        generate_shapes(data_root, num_train=num_train, num_val=num_val, img_size=img_size,
                        seed=seed)
        super().__init__(ann_file=ann_file, pipeline=pipeline, data_root=data_root, **kwargs)

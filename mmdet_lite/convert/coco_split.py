"""Split a COCO annotation json into a labelled part (a percentage of the images, drawn with a
seed) and the unlabelled rest (2.x ``tools/misc/split_coco.py``, for semi-supervised
detection). Each image goes to exactly one part with all of its annotations.

Difference from 2.x on purpose: 2.x draws the labelled images with replacement
(``np.random.choice`` without ``replace=False``), so fewer than ``percent`` % of the images
end up labelled; here they are drawn without replacement, exactly ``int(percent / 100 * n)``.
"""
from typing import List, Tuple

import numpy as np

__all__ = ['split_coco_annotations', 'split_names']


def _subset(coco: dict, images: List[dict], annotations: List[dict]) -> dict:
    out = {key: coco[key] for key in ('info', 'licenses') if key in coco}
    out.update(images=images, annotations=annotations, categories=coco['categories'])
    return out


def split_coco_annotations(coco: dict, percent: float, seed: int) -> Tuple[dict, dict]:
    """``(labelled, unlabelled)`` COCO dicts of ``coco``: ``percent`` % of its images chosen by
    ``np.random.RandomState(seed)``, in their original order; ``info``/``licenses``/
    ``categories`` are copied into both."""
    if not 0 <= percent <= 100:
        raise ValueError(f'percent must be in [0, 100], got {percent}')
    images = coco['images']
    num_labelled = int(percent / 100. * len(images))
    chosen = set(np.random.RandomState(seed).choice(len(images), size=num_labelled,
                                                     replace=False).tolist())
    labelled_ids = {images[i]['id'] for i in chosen}
    labelled = [img for i, img in enumerate(images) if i in chosen]
    unlabelled = [img for i, img in enumerate(images) if i not in chosen]
    anns = coco.get('annotations', [])
    return (_subset(coco, labelled, [a for a in anns if a['image_id'] in labelled_ids]),
            _subset(coco, unlabelled, [a for a in anns if a['image_id'] not in labelled_ids]))


def split_names(fold: int, percent: float, prefix: str = 'instances_train2017') -> Tuple[str, str]:
    """2.x's file names (without ``.json``) of the labelled and unlabelled parts."""
    return f'{prefix}.{fold}@{percent}', f'{prefix}.{fold}@{percent}-unlabeled'

"""A folder of images → a COCO json without annotations (2.x
``tools/dataset_converters/images2coco.py``), e.g. to run ``tools/test.py --format-only`` on
unlabelled images. Category ids are the 0-based line numbers of the class list."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from PIL import Image

__all__ = ['collect_image_infos', 'image_infos_to_coco']


def collect_image_infos(path: str, exclude_extensions: Optional[Sequence[str]] = None
                        ) -> List[dict]:
    """``dict(filename, width, height)`` of every image under ``path`` (recursive, sorted);
    ``filename`` is ``path`` joined with the relative path, as 2.x writes it. Files whose
    lower-cased name ends with one of ``exclude_extensions`` are skipped."""
    if not osp.isdir(path):
        raise FileNotFoundError(f'image folder {path!r} does not exist')
    excluded = tuple(e.lower() for e in exclude_extensions or ())
    infos = []
    for root, _, files in sorted(os.walk(path)):
        for name in sorted(files):
            if excluded and name.lower().endswith(excluded):
                continue
            full = osp.join(root, name)
            try:
                with Image.open(full) as img:
                    width, height = img.size
            except OSError as err:
                raise ValueError(f'{full!r} is not an image ({err}); exclude its extension '
                                 'with --exclude-extensions') from None
            infos.append(dict(filename=osp.join(path, osp.relpath(full, path)), width=width,
                              height=height))
    return infos


def image_infos_to_coco(img_infos: List[dict], classes: Sequence[str]) -> dict:
    """COCO json dict: ``images`` numbered from 0, ``categories`` from ``classes``, no
    annotations."""
    coco: dict = dict(images=[], type='instance', annotations=[],
                      categories=[dict(supercategory='none', id=i, name=str(name))
                                  for i, name in enumerate(classes)])
    seen = set()
    for image_id, info in enumerate(img_infos):
        if info['filename'] in seen:
            raise ValueError(f"image {info['filename']!r} is listed twice")
        seen.add(info['filename'])
        coco['images'].append(dict(id=image_id, file_name=str(info['filename']),
                                   height=int(info['height']), width=int(info['width'])))
    return coco

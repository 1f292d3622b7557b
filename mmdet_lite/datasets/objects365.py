"""Objects365 v1 and v2 in COCO format (mmdetection 2.x ``Objects365V1Dataset`` /
``Objects365V2Dataset``).

The 365 class names are the file's categories in id order (2.x's ``CLASSES`` order; the train
and val files list them in different orders, so the order of the file is not used). COCO
metrics as ``CocoDataset``.
"""
import os.path as osp

from ..registry import DATASETS
from .api_wrappers.coco_api import COCO
from .coco import CocoDataset, category_names_by_id, load_coco_json

# listed in the v2 annotations, absent from the released image folders
OBJECTS365_V2_MISSING_IMAGES = (osp.join('patch16', 'objects365_v2_00908726.jpg'),
                                osp.join('patch6', 'objects365_v1_00320532.jpg'),
                                osp.join('patch6', 'objects365_v1_00320534.jpg'))


@DATASETS.register_module()
class Objects365V1Dataset(CocoDataset):
    """Objects365 v1: ``CocoDataset`` with the class names of the file in id order."""

    CLASSES = None

    def _load_coco(self, ann_file: str) -> COCO:
        coco = load_coco_json(ann_file)
        if self.CLASSES is None:
            self.CLASSES = category_names_by_id(coco)
        return coco


@DATASETS.register_module()
class Objects365V2Dataset(Objects365V1Dataset):
    """Objects365 v2: image paths are ``patchN/<name>.jpg`` (the last folder of the entry's
    path), and the three images missing from the release are skipped, as in 2.x."""

    def _load_coco(self, ann_file: str) -> COCO:
        coco = super()._load_coco(ann_file)
        for info in coco.dataset['images']:  # the index holds these same dicts
            folder = osp.basename(osp.dirname(info['file_name']))
            info['file_name'] = osp.join(folder, osp.basename(info['file_name']))
        for img_id in [i for i, info in coco.imgs.items()
                       if info['file_name'] in OBJECTS365_V2_MISSING_IMAGES]:
            del coco.imgs[img_id]
        return coco

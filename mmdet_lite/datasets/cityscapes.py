"""Cityscapes instances in COCO format (2.x ``CityscapesDataset``): loading and COCO metrics."""
from collections import OrderedDict
from typing import List, Union

from ..registry import DATASETS
from .coco import CocoDataset


@DATASETS.register_module()
class CityscapesDataset(CocoDataset):
    """The 8 instance classes of Cityscapes, from the COCO json that 2.x's
    ``cityscapes.py`` converter writes (image entries carry ``segm_file``).

    Unlike ``CocoDataset``, images whose annotations are all crowd regions are dropped too
    when ``filter_empty_gt``. ``evaluate`` gives COCO ``bbox`` / ``segm`` AP; the official
    ``cityscapes`` protocol (``cityscapesscripts`` over instance PNGs) is not implemented.
    """

    CLASSES = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')

    PALETTE = [(220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
               (0, 80, 100), (0, 0, 230), (119, 11, 32)]

    def _filter_imgs(self, min_size: int = 32) -> List[int]:
        valid = super()._filter_imgs(min_size)
        if not self.filter_empty_gt:
            return valid
        kept = []
        for i in valid:
            anns = self.coco.load_anns(self.coco.get_ann_ids(img_ids=[self.data_infos[i]['id']]))
            if not all(a.get('iscrowd', 0) for a in anns if a['category_id'] in self.cat2label):
                kept.append(i)
        self.img_ids = [self.data_infos[i]['id'] for i in kept]
        return kept

    def _parse_ann_info(self, img_info: dict, ann_info: List[dict]) -> dict:
        ann = super()._parse_ann_info(img_info, ann_info)
        if 'segm_file' in img_info:
            ann['seg_map'] = img_info['segm_file']
        return ann

    def evaluate(self, results: list, metric: Union[str, List[str]] = 'bbox', logger=None,
                 outfile_prefix=None, **kwargs) -> OrderedDict:
        metrics = list(metric) if isinstance(metric, (list, tuple)) else [metric]
        if 'cityscapes' in metrics:
            raise NotImplementedError(
                "CityscapesDataset: metric 'cityscapes' (the official protocol through "
                "cityscapesscripts) is not implemented; use metric=['bbox', 'segm'] for COCO AP "
                'on the same annotations')
        kwargs.setdefault('jsonfile_prefix', outfile_prefix)
        return super().evaluate(results, metric=metrics, logger=logger, **kwargs)

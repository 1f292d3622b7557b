"""CornerNet (Law & Deng, "CornerNet: Detecting Objects as Paired Keypoints", 2018), mmdet 2.x."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from ...core import bbox2result, bbox_mapping_back
from ..builder import DETECTORS
from ..utils.results import Detections
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class CornerNet(SingleStageDetector):
    """HourglassNet + ``CornerHead``; see ``SingleStageDetector`` for the arguments.
    Test-time augmentation runs (image, flipped image) pairs and merges their boxes with the
    head's NMS."""

    def __init__(self, backbone: dict, neck: Optional[dict], bbox_head: dict,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(backbone, neck, bbox_head, train_cfg, test_cfg, pretrained, init_cfg)

    def merge_aug_results(self, aug_results: List[Detections],
                          img_metas: List[List[dict]]) -> Tuple[Tensor, Tensor]:
        """Map each view's boxes back to the original image (``img_shape``, ``scale_factor``,
        ``flip`` of its meta), concatenate, and run the head's NMS."""
        recovered_bboxes, aug_labels = [], []
        for (bboxes, labels), img_info in zip(aug_results, img_metas):
            meta = img_info[0]
            boxes = bbox_mapping_back(bboxes[:, :4], meta['img_shape'], meta['scale_factor'],
                                      meta['flip'])
            recovered_bboxes.append(torch.cat([boxes, bboxes[:, -1:]], dim=-1))
            aug_labels.append(labels)
        bboxes = torch.cat(recovered_bboxes, dim=0)
        labels = torch.cat(aug_labels)
        if bboxes.shape[0] > 0:
            return self.bbox_head._bboxes_nms(bboxes, labels, self.bbox_head.test_cfg)
        return bboxes, labels

    def aug_test(self, imgs: Sequence[Tensor], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[List[np.ndarray]]:
        """``imgs`` come in (image, flipped image) pairs of one image each."""
        if len(imgs) % 2 or not all(img_metas[i + 1][0]['flip'] for i in range(0, len(imgs), 2)):
            raise ValueError('CornerNet.aug_test needs (image, flipped image) pairs: use '
                             'MultiScaleFlipAug with flip=True')
        aug_results = []
        for ind in range(0, len(imgs), 2):
            outs = self.bbox_head(self.extract_feat(torch.cat([imgs[ind], imgs[ind + 1]])))
            aug_results.extend(self.bbox_head.get_bboxes(
                *outs, img_metas=[img_metas[ind][0], img_metas[ind + 1][0]], rescale=False,
                with_nms=False))
        bboxes, labels = self.merge_aug_results(aug_results, img_metas)
        return [bbox2result(bboxes, labels, self.bbox_head.num_classes)]

"""CenterNet (Zhou et al., "Objects as Points", 2019), mmdet 2.x."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from ...core import bbox2result, flip_tensor
from ..builder import DETECTORS
from ..utils.results import Detections
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class CenterNet(SingleStageDetector):
    """ResNet + ``CTResNetNeck`` + ``CenterNetHead``; see ``SingleStageDetector`` for the
    arguments. Test-time augmentation averages the heat maps and sizes of flipped image pairs
    instead of merging boxes."""

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(backbone, neck, bbox_head, train_cfg, test_cfg, pretrained, init_cfg)

    def merge_aug_results(self, aug_results: List[List[Detections]],
                          with_nms: bool) -> Tuple[Tensor, Tensor]:
        """Concatenate each pair's detections (one image each); class-aware NMS if
        ``with_nms``."""
        bboxes = torch.cat([result[0][0] for result in aug_results], dim=0).contiguous()
        labels = torch.cat([result[0][1] for result in aug_results]).contiguous()
        if with_nms:
            return self.bbox_head._bboxes_nms(bboxes, labels, self.bbox_head.test_cfg)
        return bboxes, labels

    def aug_test(self, imgs: Sequence[Tensor], img_metas: List[List[dict]],
                 rescale: bool = True) -> List[List[np.ndarray]]:
        """``imgs`` come in (image, flipped image) pairs, one image each; per pair the
        flipped heat map and sizes are flipped back and averaged with the plain ones (the
        offsets are the plain image's)."""
        if len(imgs) % 2 or not all(img_metas[i + 1][0]['flip'] for i in range(0, len(imgs), 2)):
            raise ValueError('CenterNet.aug_test needs (image, flipped image) pairs: use '
                             'MultiScaleFlipAug with flip=True')
        aug_results = []
        for ind in range(0, len(imgs), 2):
            flip_direction = img_metas[ind + 1][0]['flip_direction']
            x = self.extract_feat(torch.cat([imgs[ind], imgs[ind + 1]]))
            center_heatmap_preds, wh_preds, offset_preds = self.bbox_head(x)
            self.bbox_head._one_level(center_heatmap_preds, wh_preds, offset_preds)
            heatmap = (center_heatmap_preds[0][0:1]
                       + flip_tensor(center_heatmap_preds[0][1:2], flip_direction)) / 2
            wh = (wh_preds[0][0:1] + flip_tensor(wh_preds[0][1:2], flip_direction)) / 2
            aug_results.append(self.bbox_head.get_bboxes(
                [heatmap], [wh], [offset_preds[0][0:1]], img_metas[ind], rescale=rescale,
                with_nms=False))
        with_nms = self.bbox_head.test_cfg.get('nms_cfg') is not None
        det_bboxes, det_labels = self.merge_aug_results(aug_results, with_nms)
        return [bbox2result(det_bboxes, det_labels, self.bbox_head.num_classes)]

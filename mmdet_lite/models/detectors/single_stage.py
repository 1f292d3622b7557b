"""SingleStageDetector: backbone → neck → dense head (RetinaNet-style), mmdet 2.x.

Shapes: ``N`` images, (N, 3, H, W) padded batch, ``K`` classes.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from torch import Tensor

from ...core import bbox2result
from ..builder import DETECTORS
from .base import BaseDetector


@DETECTORS.register_module()
class SingleStageDetector(BaseDetector):
    """A backbone, an optional neck and a dense ``bbox_head`` that predicts boxes directly.

    Args:
        backbone / neck / bbox_head: module configs (``bbox_head`` gets ``train_cfg`` and
            ``test_cfg``).
        train_cfg / test_cfg: the head's training (assigner, ...) and test (nms, ...) configs.
        pretrained: deprecated; use ``backbone.init_cfg=dict(type='Pretrained', ...)``.
        init_cfg: weight init config of the detector.

    Backbone, neck, config storage and ``extract_feat`` are :class:`BaseDetector`'s.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 bbox_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        if bbox_head is None:
            raise ValueError(f'{type(self).__name__} needs a bbox_head config')
        super().__init__(init_cfg, backbone=backbone, neck=neck, train_cfg=train_cfg,
                         test_cfg=test_cfg, pretrained=pretrained)
        self.bbox_head = self.build_head_with_cfgs(bbox_head)

    def forward_dummy(self, img: Tensor) -> tuple:
        """Raw head outputs, for FLOPs counting and benchmarks."""
        return self.bbox_head(self.extract_feat(img))

    def forward_train(self, img: Tensor, img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: List[Tensor], gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks=None, proposals=None) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """Losses of a batch; ``gt_masks``/``proposals`` are accepted and unused."""
        super().forward_train(img, img_metas)
        x = self.extract_feat(img)
        return self.bbox_head.forward_train(x, img_metas, gt_bboxes, gt_labels,
                                            gt_bboxes_ignore)

    def simple_test(self, img: Tensor, img_metas: List[dict],
                    rescale: bool = False) -> List[List[np.ndarray]]:
        """Per image a list over K classes of (n, 5) ``[x1, y1, x2, y2, score]`` arrays."""
        feat = self.extract_feat(img)
        results_list = self.bbox_head.simple_test(feat, img_metas, rescale=rescale)
        return [bbox2result(det_bboxes, det_labels, self.bbox_head.num_classes)
                for det_bboxes, det_labels in results_list]

    def aug_test(self, imgs: Sequence[Tensor], img_metas: List[List[dict]],
                 rescale: bool = False) -> List[List[np.ndarray]]:
        """Test-time augmentation (one image, several views) merged by the head."""
        if not hasattr(self.bbox_head, 'aug_test'):
            raise NotImplementedError(f'{type(self.bbox_head).__name__} does not support '
                                      'test-time augmentation; drop flip/multi-scale from the '
                                      'test pipeline')
        feats = self.extract_feats(imgs)
        results_list = self.bbox_head.aug_test(feats, img_metas, rescale=rescale)
        return [bbox2result(det_bboxes, det_labels, self.bbox_head.num_classes)
                for det_bboxes, det_labels in results_list]

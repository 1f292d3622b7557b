"""LAD (Nguyen et al., "Improving Object Detection by Label Assignment Distillation", 2022): a
student trained on the label assignment that a frozen teacher's PAA head makes."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ...checkpoint import load_checkpoint
from ..builder import DETECTORS, build_backbone, build_head, build_neck
from .kd_one_stage import KnowledgeDistillationSingleStageDetector
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class LAD(KnowledgeDistillationSingleStageDetector):
    """Student ``backbone`` / ``neck`` / ``bbox_head`` (``LADHead``) and a teacher made of
    ``teacher_backbone`` / ``teacher_neck`` / ``teacher_bbox_head`` (a ``LADHead`` too, given
    the student's train/test configs), loaded from ``teacher_ckpt``. The teacher is not a
    sub-module (see :class:`KnowledgeDistillationSingleStageDetector`)."""

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict, teacher_backbone: dict,
                 teacher_neck: Optional[dict], teacher_bbox_head: dict,
                 teacher_ckpt: Optional[str], eval_teacher: bool = True,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        SingleStageDetector.__init__(self, backbone, neck, bbox_head, train_cfg, test_cfg,
                                     pretrained, init_cfg)
        self.eval_teacher = eval_teacher
        self.teacher_model = nn.Module()
        self.teacher_model.backbone = build_backbone(teacher_backbone)
        if teacher_neck is not None:
            self.teacher_model.neck = build_neck(teacher_neck)
        self.teacher_model.bbox_head = build_head(
            dict(teacher_bbox_head, train_cfg=train_cfg, test_cfg=test_cfg))
        if teacher_ckpt is not None:
            load_checkpoint(self.teacher_model, teacher_ckpt, map_location='cpu')

    @property
    def with_teacher_neck(self) -> bool:
        return getattr(self.teacher_model, 'neck', None) is not None

    def extract_teacher_feat(self, img: Tensor) -> Sequence[Tensor]:
        """The teacher's backbone (and neck) features of (N, 3, H, W) images."""
        x = self.teacher_model.backbone(img)
        return self.teacher_model.neck(x) if self.with_teacher_neck else x

    def forward_train(self, img: Tensor, img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: List[Tensor], gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks=None, proposals=None) -> Dict[str, Tensor]:
        """The student's losses under the teacher head's label assignment."""
        with torch.no_grad():
            outs_teacher = self.teacher_model.bbox_head(self.extract_teacher_feat(img))
            assignment = self.teacher_model.bbox_head.get_label_assignment(
                *outs_teacher, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore)
        x = self.extract_feat(img)
        return self.bbox_head.forward_train(x, assignment, img_metas, gt_bboxes, gt_labels,
                                            gt_bboxes_ignore)

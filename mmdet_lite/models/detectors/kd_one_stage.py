"""KnowledgeDistillationSingleStageDetector: a one-stage student trained against the head outputs
of a frozen teacher detector (mmdetection 2.x; used by LD, "Localization Distillation for Dense
Object Detection", Zheng et al., 2022).

Shapes: ``N`` images, (N, 3, H, W) padded batch.
"""
import os
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch
from mmengine.config import Config
from torch import Tensor, nn

from ...checkpoint import load_checkpoint
from ..builder import DETECTORS, build_detector
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class KnowledgeDistillationSingleStageDetector(SingleStageDetector):
    """A student (``backbone``, ``neck``, ``bbox_head``) and a teacher built from
    ``teacher_config`` (a config file or its dict, whose ``model`` is built) and loaded from
    ``teacher_ckpt``.

    The teacher is deliberately not a sub-module (as 2.x): it is absent from ``state_dict()``,
    from ``parameters()`` (so no optimizer touches it) and from checkpoints; ``to`` / ``cuda`` /
    ``cpu`` move it along, and with ``eval_teacher`` it stays in eval mode. The student's head
    takes the teacher's head outputs as its second ``forward_train`` argument.

    Args:
        teacher_config: path of the teacher's config, or the config (dict / ``Config``).
        teacher_ckpt: teacher checkpoint (local file or cached name), or None.
        eval_teacher: keep the teacher in eval mode while the student trains.
        Other arguments: :class:`SingleStageDetector`.
    """

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict,
                 teacher_config: Union[str, Path, dict], teacher_ckpt: Optional[str] = None,
                 eval_teacher: bool = True, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(backbone, neck, bbox_head, train_cfg, test_cfg, pretrained, init_cfg)
        self.eval_teacher = eval_teacher
        if isinstance(teacher_config, (str, Path)):
            if not os.path.isfile(teacher_config):
                raise FileNotFoundError(
                    f'teacher_config {str(teacher_config)!r} is not a file (relative to the '
                    f'working directory {os.getcwd()!r}); 2.x configs name it relative to the '
                    "mmdetection checkout, e.g. 'configs/gfl/...': give its path")
            teacher_config = Config.fromfile(str(teacher_config))
        if 'model' not in teacher_config:
            raise ValueError(f'teacher_config {teacher_config!r} has no "model"; give the '
                             "teacher detector's config file (or a dict with a 'model' key)")
        self.teacher_model = build_detector(teacher_config['model'])
        if teacher_ckpt is not None:
            load_checkpoint(self.teacher_model, teacher_ckpt, map_location='cpu')

    def __setattr__(self, name: str, value) -> None:
        # The teacher bypasses nn.Module's registration (see the class docstring).
        if name == 'teacher_model':
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward_train(self, img: Tensor, img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: List[Tensor], gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks=None, proposals=None) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """The student's losses given the teacher's head outputs on the same images."""
        x = self.extract_feat(img)
        with torch.no_grad():
            out_teacher = self.teacher_model.bbox_head(self.teacher_model.extract_feat(img))
        return self.bbox_head.forward_train(x, out_teacher, img_metas, gt_bboxes, gt_labels,
                                            gt_bboxes_ignore)

    def to(self, *args, **kwargs) -> nn.Module:
        self.teacher_model.to(*args, **kwargs)
        return super().to(*args, **kwargs)

    def cuda(self, *args, **kwargs) -> nn.Module:
        self.teacher_model.cuda(*args, **kwargs)
        return super().cuda(*args, **kwargs)

    def cpu(self, *args, **kwargs) -> nn.Module:
        self.teacher_model.cpu(*args, **kwargs)
        return super().cpu(*args, **kwargs)

    def train(self, mode: bool = True) -> nn.Module:
        self.teacher_model.train(False if self.eval_teacher else mode)
        return super().train(mode)

"""TOOD (Feng et al., "TOOD: Task-aligned One-stage Object Detection", 2021)."""
from typing import List, Optional, Union

from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class TOOD(SingleStageDetector):
    """Backbone, neck and ``TOODHead``; see ``SingleStageDetector`` for the arguments.

    ``set_epoch`` tells the head the current epoch (2.x's ``SetEpochInfoHook`` calls it before
    each training epoch): the head assigns with ATSS before ``train_cfg.initial_epoch`` and
    task-aligned after.
    """

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(backbone, neck, bbox_head, train_cfg, test_cfg, pretrained, init_cfg)

    def set_epoch(self, epoch: int) -> None:
        self.bbox_head.epoch = epoch

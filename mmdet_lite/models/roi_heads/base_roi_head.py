"""BaseRoIHead: the second stage of a two-stage detector (box and optional mask branches)."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModule

from ..builder import build_shared_head
from ...core.utils.config import as_config

Tensor = torch.Tensor


class BaseRoIHead(BaseModule, metaclass=ABCMeta):
    """Base class of RoI heads.

    Args:
        bbox_roi_extractor / bbox_head: the box branch (both or neither).
        mask_roi_extractor / mask_head: the mask branch; without ``mask_roi_extractor`` the
            mask head pools with the box branch's extractor.
        shared_head: an optional module run on pooled features before both branches.
        train_cfg: rcnn train config (``assigner``, ``sampler``, ``pos_weight``, ``mask_size``).
        test_cfg: rcnn test config (``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``).
    """

    def __init__(self,
                 bbox_roi_extractor: Optional[dict] = None,
                 bbox_head: Optional[dict] = None,
                 mask_roi_extractor: Optional[dict] = None,
                 mask_head: Optional[dict] = None,
                 shared_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)
        if shared_head is not None:
            shared_head = dict(shared_head)
            if pretrained is not None:
                shared_head['pretrained'] = pretrained
            self.shared_head = build_shared_head(shared_head)
        if (bbox_roi_extractor is None) != (bbox_head is None):
            raise ValueError('give both bbox_roi_extractor and bbox_head to the RoI head, '
                             'or neither')
        if bbox_head is not None:
            self.init_bbox_head(bbox_roi_extractor, bbox_head)
        if mask_head is not None:
            self.init_mask_head(mask_roi_extractor, mask_head)
        self.init_assigner_sampler()

    @property
    def with_bbox(self) -> bool:
        return getattr(self, 'bbox_head', None) is not None

    @property
    def with_mask(self) -> bool:
        return getattr(self, 'mask_head', None) is not None

    @property
    def with_shared_head(self) -> bool:
        return getattr(self, 'shared_head', None) is not None

    @abstractmethod
    def init_bbox_head(self, bbox_roi_extractor: dict, bbox_head: dict) -> None:
        """Build the box branch."""

    @abstractmethod
    def init_mask_head(self, mask_roi_extractor: Optional[dict], mask_head: dict) -> None:
        """Build the mask branch."""

    @abstractmethod
    def init_assigner_sampler(self) -> None:
        """Build the proposal assigner and sampler from ``train_cfg``."""

    @abstractmethod
    def forward_train(self, x: List[Tensor], img_metas: List[dict], proposal_list: List[Tensor],
                      gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks: Optional[list] = None) -> Dict[str, Tensor]:
        """Losses of the second stage."""

    @abstractmethod
    def simple_test(self, x: List[Tensor], proposal_list: List[Tensor], img_metas: List[dict],
                    proposals: Optional[List[Tensor]] = None, rescale: bool = False) -> list:
        """Per-image results (docs/conventions.md §3) of one batch."""

    def aug_test(self, x: List[List[Tensor]], proposal_list: List[Tensor],
                 img_metas: List[List[dict]], rescale: bool = False) -> list:
        """Per-image results of test-time augmentation; subclasses that support it override."""
        raise NotImplementedError(f'{type(self).__name__} does not implement aug_test; '
                                  'test without MultiScaleFlipAug augmentations')

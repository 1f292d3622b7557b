"""YOLOX (Ge et al., "YOLOX: Exceeding YOLO Series in 2021"), mmdet 2.x.

Multi-scale training happens in the detector, as in 2.x: every ``random_size_interval``
iterations a new input size (a random multiple of ``size_multiplier`` in
``random_size_range``, keeping ``input_size``'s aspect ratio) is drawn on rank 0 and broadcast;
training batches are resized to it with their boxes.
"""
import random
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from torch import Tensor

from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class YOLOX(SingleStageDetector):
    """CSPDarknet + ``YOLOXPAFPN`` + ``YOLOXHead``; see ``SingleStageDetector`` for the module
    arguments.

    Args:
        input_size: (h, w) the training pipeline produces.
        size_multiplier: input sizes are multiples of this.
        random_size_range: (low, high) range of the multiplier of the random input size.
        random_size_interval: iterations between two input-size draws.
    """

    def __init__(self, backbone: dict, neck: dict, bbox_head: dict,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None, input_size: Tuple[int, int] = (640, 640),
                 size_multiplier: int = 32, random_size_range: Tuple[int, int] = (15, 25),
                 random_size_interval: int = 10,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(backbone, neck, bbox_head, train_cfg, test_cfg, pretrained, init_cfg)
        self.rank, self.world_size = get_dist_info()
        self._default_input_size = input_size
        self._input_size = input_size
        self._random_size_range = random_size_range
        self._random_size_interval = random_size_interval
        self._size_multiplier = size_multiplier
        self._progress_in_iter = 0

    def forward_train(self, img: Tensor, img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: List[Tensor], gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      gt_masks=None, proposals=None) -> Dict[str, Union[Tensor, List[Tensor]]]:
        """Losses of a batch resized to the current random input size."""
        img, gt_bboxes = self._preprocess(img, gt_bboxes)
        losses = super().forward_train(img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)
        if (self._progress_in_iter + 1) % self._random_size_interval == 0:
            self._input_size = self._random_resize(device=img.device)
        self._progress_in_iter += 1
        return losses

    def _preprocess(self, img: Tensor, gt_bboxes: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        """Resize (N, 3, H, W) to the current input size; scaled copies of the boxes."""
        scale_y = self._input_size[0] / self._default_input_size[0]
        scale_x = self._input_size[1] / self._default_input_size[1]
        if scale_x != 1 or scale_y != 1:
            img = F.interpolate(img, size=self._input_size, mode='bilinear',
                                align_corners=False)
            scale = img.new_tensor([scale_x, scale_y, scale_x, scale_y])
            gt_bboxes = [gt_bbox * scale for gt_bbox in gt_bboxes]
        return img, gt_bboxes

    def _random_resize(self, device: Union[str, torch.device]) -> Tuple[int, int]:
        """A new (h, w) input size, drawn on rank 0 and broadcast to every rank."""
        tensor = torch.zeros(2, dtype=torch.long, device=device)
        if self.rank == 0:
            size = random.randint(*self._random_size_range)
            aspect_ratio = float(self._default_input_size[1]) / self._default_input_size[0]
            tensor[0] = self._size_multiplier * size
            tensor[1] = self._size_multiplier * int(aspect_ratio * size)
        if self.world_size > 1:
            dist.barrier()
            dist.broadcast(tensor, 0)
        return int(tensor[0].item()), int(tensor[1].item())

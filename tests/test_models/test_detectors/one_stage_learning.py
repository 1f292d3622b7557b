"""Shared by the one-stage learning tests: a tiny ResNet-18 FPN detector with a given head
overfits the two synthetic images of test_retinanet_learning.py, then finds every object.

``overfit(head, ...)`` builds ``type`` with the head config, trains with Adam and returns the
loss history and the detections; ``assert_finds_every_object`` checks IoU >= 0.7 at score
>= ``min_score`` for each ground-truth box.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torchvision.ops import box_iou

from mmdet_lite.models import build_detector

from .test_retinanet_learning import BOXES, LABELS, _images, _metas

TEST_CFG = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)


def tiny_detector(detector_type: str, bbox_head: dict, train_cfg: Optional[dict] = None,
                  test_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                  out_indices: Tuple[int, ...] = (0, 1, 2, 3)) -> torch.nn.Module:
    """ResNet-18 at 1/4 width (stages ``out_indices``) and a 32-channel 5-level FPN (strides
    8..128), or ``neck``, with ``bbox_head`` (in_channels 32, 2 classes)."""
    if neck is None:
        neck = dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=32, start_level=1,
                    add_extra_convs='on_output', num_outs=5)
    return build_detector(dict(
        type=detector_type,
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=out_indices,
                      norm_eval=True, frozen_stages=-1),
        neck=neck,
        bbox_head=dict(dict(num_classes=2, in_channels=32, feat_channels=32), **bbox_head),
        train_cfg=train_cfg, test_cfg=TEST_CFG if test_cfg is None else test_cfg))


def overfit(model: torch.nn.Module, iters: int, lr: float = 1e-3
            ) -> Tuple[List[float], List[List[np.ndarray]]]:
    """Train ``model`` on the two images for ``iters`` Adam steps; return the total loss per
    step and ``simple_test``'s results (rescale=True) afterwards."""
    torch.manual_seed(0)
    model.init_weights()
    model.train()
    imgs = _images()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(iters):
        losses: Dict = model.forward_train(imgs, _metas(), BOXES, LABELS)
        loss = sum(sum(v) if isinstance(v, (list, tuple)) else v
                   for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    model.eval()
    with torch.no_grad():
        results = model.simple_test(imgs, _metas(), rescale=True)
    return history, results


def assert_finds_every_object(results: List[List[np.ndarray]], min_score: float = 0.3,
                              min_iou: float = 0.7) -> None:
    """Every ground-truth box of both images has a detection of its class scoring at least
    ``min_score`` with IoU >= ``min_iou``."""
    for i in range(2):
        for box, label in zip(BOXES[i], LABELS[i]):
            dets = torch.from_numpy(results[i][int(label)])
            dets = dets[dets[:, 4] >= min_score]
            assert len(dets) > 0, f'image {i}: no class-{int(label)} detection >= {min_score}'
            iou = box_iou(box[None], dets[:, :4]).max()
            assert iou >= min_iou, (i, box, dets[:5], float(iou))

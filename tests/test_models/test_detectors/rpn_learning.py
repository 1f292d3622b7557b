"""Shared by the learning tests of proposal heads and their configs' training: a tiny
ResNet-18 FPN proposal network built from a config's ``rpn_head``, training with the gradient
clipping of those configs, and the check that the best proposals cover every object."""
import copy
from typing import Dict, List

import torch
from mmengine.config import Config
from torchvision.ops import box_iou

from mmdet_lite.models import build_detector


def tiny_rpn(config: str, feat: int = 32) -> torch.nn.Module:
    """An ``RPN`` detector with ``config``'s ``rpn_head`` and its train/test configs, on a
    trainable ResNet-18 at 1/4 width with a ``feat``-channel FPN (strides 4..64)."""
    model = copy.deepcopy(Config.fromfile(config).model.to_dict())
    head = model['rpn_head']
    for stage in head.get('stages', [head]):
        stage.update(in_channels=feat, feat_channels=feat)
    test_cfg = model['test_cfg']['rpn']
    test_cfg.update(nms_pre=300, max_per_img=100)
    return build_detector(dict(
        type='RPN',
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(0, 1, 2, 3),
                      frozen_stages=-1, norm_eval=False),
        neck=dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=feat, num_outs=5),
        rpn_head=head, train_cfg=dict(rpn=model['train_cfg']['rpn']),
        test_cfg=dict(rpn=test_cfg)))


def overfit_clipped(model: torch.nn.Module, imgs: torch.Tensor, metas: List[dict], iters: int,
                    lr: float, **gt) -> List[Dict[str, float]]:
    """Adam with a cosine-annealed rate and the gradient clipping of 2.x's guided-anchoring /
    Cascade RPN configs (max norm 35); returns the log values of every iteration."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iters)
    history = []
    model.train()
    for _ in range(iters):
        total, log_vars = model.parse_losses(model(imgs, metas, mode='loss', **gt))
        optimizer.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=35)
        optimizer.step()
        scheduler.step()
        history.append({k: v.item() for k, v in log_vars.items()})
    return history


def assert_proposals_cover(proposals: list, gt_bboxes: List[torch.Tensor], top: int = 10,
                           min_iou: float = 0.7, min_score: float = 0.5) -> None:
    """In every image, every GT box has a proposal among the ``top`` best that scores at least
    ``min_score`` and overlaps it with IoU >= ``min_iou``."""
    for i, gt in enumerate(gt_bboxes):
        best = torch.from_numpy(proposals[i][:top])
        best = best[best[:, 4] >= min_score]
        assert len(best) > 0, f'image {i}: no proposal scores {min_score} or more'
        assert (box_iou(gt, best[:, :4]).max(dim=1).values >= min_iou).all(), (gt, best)

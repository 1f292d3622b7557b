"""NMS that reports, for each kept box, the boxes it suppressed (mmcv's ``nms_match``), in
plain PyTorch."""
from typing import List, Union

import numpy as np
import torch
from torch import Tensor


def nms_match(dets: Union[Tensor, np.ndarray],
              iou_threshold: float) -> List[Union[Tensor, np.ndarray]]:
    """Group boxes by greedy NMS.

    In decreasing score order, each box not yet suppressed opens a group and suppresses every
    later unsuppressed box with IoU ``>= iou_threshold`` (no ``+1`` in box sizes); the group
    lists the opener, then the boxes it suppressed, in score order.

    Args:
        dets: (n, 5) ``[x1, y1, x2, y2, score]``.
        iou_threshold: IoU at which a box joins a group.

    Returns:
        One long tensor (or int ndarray, for ndarray input) of indices into ``dets`` per
        group, groups in the order opened.
    """
    is_numpy = isinstance(dets, np.ndarray)
    dets_t = torch.from_numpy(dets) if is_numpy else dets.detach()
    if dets_t.numel() == 0:
        return []
    if dets_t.dim() != 2 or dets_t.size(1) != 5:
        raise ValueError(f'nms_match: dets must be (n, 5) [x1, y1, x2, y2, score], got '
                         f'{tuple(dets_t.shape)}')
    boxes = dets_t[:, :4].cpu().float()
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    order = dets_t[:, 4].cpu().float().sort(descending=True)[1]
    suppressed = torch.zeros(dets_t.size(0), dtype=torch.bool)
    groups = []
    for pos in range(order.numel()):
        i = int(order[pos])
        if suppressed[i]:
            continue
        later = order[pos + 1:]
        later = later[~suppressed[later]]
        w = (torch.min(x2[i], x2[later]) - torch.max(x1[i], x1[later])).clamp(min=0)
        h = (torch.min(y2[i], y2[later]) - torch.max(y1[i], y1[later])).clamp(min=0)
        inter = w * h
        ovr = inter / (areas[i] + areas[later] - inter)
        members = later[ovr >= iou_threshold]
        suppressed[members] = True
        groups.append(torch.cat([order.new_tensor([i]), members]))
    if is_numpy:
        return [g.numpy().astype(int) for g in groups]
    return [g.to(dets_t.device) for g in groups]

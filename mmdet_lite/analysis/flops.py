"""Parameter count and FLOPs of a detector, with ``torch.utils.flop_counter.FlopCounterMode``.

FLOPs count a multiply-add as 2 (mmcv's counter, and so mmdetection 2.x's ``get_flops.py``,
reports multiply-adds under the name FLOPs: divide ours by 2 to compare). Only PyTorch
operators with a FLOP formula (convolutions, matmuls, ...) are counted; NMS and RoIAlign from
``torchvision.ops`` are not.
"""
import warnings
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def parameter_counts(model: nn.Module) -> 'OrderedDict[str, int]':
    """Parameters of the whole model (key ``''``) and of each top-level child module."""
    counts: 'OrderedDict[str, int]' = OrderedDict()
    counts[''] = sum(p.numel() for p in model.parameters())
    for name, child in model.named_children():
        counts[name] = sum(p.numel() for p in child.parameters())
    return counts


def padded_input_shape(shape: Sequence[int], size_divisor: int = 32) -> Tuple[int, int, int]:
    """``(3, H, W)`` from ``(H, W)`` or ``(S,)``, rounded up to a multiple of ``size_divisor``."""
    if len(shape) == 1:
        h = w = int(shape[0])
    elif len(shape) == 2:
        h, w = (int(s) for s in shape)
    else:
        raise ValueError(f'shape must be (H, W) or (S,), got {tuple(shape)}')
    if h <= 0 or w <= 0:
        raise ValueError(f'shape must be positive, got {(h, w)}')
    if size_divisor > 0:
        h = -(-h // size_divisor) * size_divisor
        w = -(-w // size_divisor) * size_divisor
    return 3, h, w


def model_complexity(model: nn.Module, input_shape: Tuple[int, int, int]) -> Dict:
    """FLOPs and parameters of one forward pass on a zero image of ``input_shape`` (C, H, W).

    The detector's ``forward_dummy`` (backbone, neck and heads, as mmdetection 2.x) is run
    when it has one, else ``extract_feat`` (backbone + neck only; a warning says so).

    Returns:
        ``dict(flops=int, params=int, flops_per_module={name: int}, params_per_module={name:
        int}, counted=str, input_shape=(C, H, W))``; the per-module entries are keyed by the
        top-level children (``backbone``, ``neck``, ``rpn_head``, ``roi_head``, ...).
    """
    device = next(model.parameters()).device if any(True for _ in model.parameters()) \
        else torch.device('cpu')
    x = torch.zeros((1, ) + tuple(input_shape), device=device)
    if callable(getattr(model, 'forward_dummy', None)):
        run, counted = model.forward_dummy, 'forward_dummy (backbone, neck and heads)'
    elif callable(getattr(model, 'extract_feat', None)):
        warnings.warn(f'{type(model).__name__} has no forward_dummy: only extract_feat '
                      '(backbone and neck) is counted')
        run, counted = model.extract_feat, 'extract_feat (backbone and neck)'
    else:
        run, counted = model, 'forward'
    counter = FlopCounterMode(display=False)
    per_module: Dict[str, int] = OrderedDict()
    # Every submodule call is hooked and the FLOPs of the outermost one go to its top-level
    # owner, so work reached through methods (roi_head.forward_dummy -> bbox_head(...)) counts.
    active: List[Tuple[str, int]] = []

    def running_total() -> int:
        return int(sum(counter.flop_counts['Global'].values()))

    def pre_hook(owner: str):
        def hook(module, args):
            active.append((owner, running_total()))
        return hook

    def post_hook(module, args, output):
        owner, start = active.pop()
        if not active:
            per_module[owner] = per_module.get(owner, 0) + running_total() - start

    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(pre_hook(name.split('.')[0])))
            handles.append(module.register_forward_hook(post_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            run(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    params = parameter_counts(model)
    return dict(flops=int(counter.get_total_flops()), params=params.pop(''),
                flops_per_module=per_module, params_per_module=dict(params), counted=counted,
                input_shape=tuple(input_shape))


def human_count(value: float, unit: str = '') -> str:
    """``1234567`` → ``'1.23 M'``."""
    for threshold, suffix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if abs(value) >= threshold:
            return f'{value / threshold:.2f} {suffix}{unit}'
    return f'{value:.0f} {unit}'.rstrip()

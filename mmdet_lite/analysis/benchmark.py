"""Inference latency of an mmdet_lite detector, optionally side by side with torchvision's.

Both models get the same weights and the very same normalised, padded input tensor; each
image is timed for both models in turn (the order alternates from image to image) so that
load from other processes on the machine hits both alike. Latency = ``simple_test`` for
mmdet_lite and ``backbone → rpn → roi_heads → transform.postprocess`` for torchvision
(:func:`~mmdet_lite.convert.torchvision_runner.torchvision_detect`): both include box
post-processing and pasting the masks into the image.
"""
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.cnn import fuse_conv_bn as fold_conv_bn
from mmengine.config import Config
from terminaltables import AsciiTable
from torch import nn

from ..apis import build_detector_from_config
from ..checkpoint import load_checkpoint_safely, unwrap_state_dict
from ..convert.torchvision_convert import (ABSENT_CLASS_BIAS,
                                           convert_mmdet_to_torchvision_state_dict,
                                           default_class_ids, torchvision_to_mmdet_checkpoint)
from ..convert.torchvision_runner import build_torchvision_detector, torchvision_detect

Tensor = torch.Tensor

__all__ = ['boost_torchvision_detections', 'build_benchmark_models', 'make_benchmark_inputs',
           'mmdet_img_metas', 'run_benchmark', 'format_benchmark']

_IMG_MEAN = (123.675, 116.28, 103.53)
_IMG_STD = (58.395, 57.12, 57.375)


def boost_torchvision_detections(model: nn.Module, cls_scale: float = 0.4,
                                 bbox_scale: float = 0.1, rpn_bbox_scale: float = 0.1,
                                 unused_class_ids: Sequence[int] = ()) -> None:
    """Make a randomly initialised torchvision R-CNN behave like a trained one, in place.

    A random R50-FPN has large activations: its classifier's softmax saturates and its box
    deltas (RPN and box head) turn anchors into slivers. Scaling ``cls_score`` by
    ``cls_scale`` spreads the class scores so that some (not all) pass the 0.05 threshold, and
    scaling the two ``bbox_pred`` layers keeps boxes anchor-sized, so the masks pasted into
    them cover real areas. Classes in ``unused_class_ids`` get zero weights and a bias of
    ``ABSENT_CLASS_BIAS``: their probability is exactly 0, as COCO's unused ids are (nearly)
    in a trained model (the converter drops those rows).
    """
    predictor = model.roi_heads.box_predictor
    with torch.no_grad():
        predictor.cls_score.weight.mul_(cls_scale)
        predictor.bbox_pred.weight.mul_(bbox_scale)
        model.rpn.head.bbox_pred.weight.mul_(rpn_bbox_scale)
        if len(unused_class_ids):
            ids = torch.as_tensor(list(unused_class_ids), dtype=torch.long)
            predictor.cls_score.weight[ids] = 0
            predictor.cls_score.bias[ids] = ABSENT_CLASS_BIAS


def make_benchmark_inputs(height: int, width: int, num_images: int,
                          seed: int = 0) -> List[Tensor]:
    """``num_images`` normalised (1, 3, H, W) batches of smooth random RGB images.

    Low-frequency noise (bilinearly upsampled 1/16-size noise) in [0, 255], then mmdetection's
    / torchvision's ImageNet normalisation, so both models see realistic value ranges.
    """
    gen = torch.Generator().manual_seed(seed)
    mean = torch.tensor(_IMG_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_IMG_STD).view(1, 3, 1, 1)
    imgs = []
    for _ in range(num_images):
        coarse = torch.rand((1, 3, max(height // 16, 2), max(width // 16, 2)), generator=gen)
        img = torch.nn.functional.interpolate(coarse, size=(height, width), mode='bilinear',
                                              align_corners=False) * 255
        imgs.append(((img - mean) / std).contiguous())
    return imgs


def mmdet_img_metas(height: int, width: int) -> List[dict]:
    """img_metas (docs/conventions.md §3) of one un-rescaled, unpadded (H, W) image."""
    return [dict(filename='benchmark.jpg', ori_filename='benchmark.jpg',
                 ori_shape=(height, width, 3), img_shape=(height, width, 3),
                 pad_shape=(height, width, 3),
                 scale_factor=np.ones(4, dtype=np.float32), flip=False, flip_direction=None,
                 batch_input_shape=(height, width),
                 img_norm_cfg=dict(mean=np.array(_IMG_MEAN, dtype=np.float32),
                                   std=np.array(_IMG_STD, dtype=np.float32), to_rgb=True))]


def _is_torchvision_state_dict(state_dict: Dict[str, Tensor]) -> bool:
    return any(k.startswith(('backbone.body.', 'rpn.head.', 'roi_heads.')) for k in state_dict)


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], int], device: torch.device) -> Tuple[float, int]:
    """(seconds, detections) of one call of ``fn``."""
    _synchronize(device)
    start = time.perf_counter()
    num_dets = fn()
    _synchronize(device)
    return time.perf_counter() - start, num_dets


def _count_mmdet(result: list) -> int:
    bbox_results = result[0][0] if isinstance(result[0], tuple) else result[0]
    return int(sum(len(b) for b in bbox_results))


def build_benchmark_models(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
                           compare_torchvision: bool = False, seed: int = 0,
                           device: str = 'cpu') -> Tuple[nn.Module, Optional[nn.Module]]:
    """The mmdet_lite model of ``config`` and, if asked, torchvision's twin with equal weights.

    ``checkpoint`` may be an mmdet_lite checkpoint (loaded strictly by
    :func:`~mmdet_lite.apis.build_detector_from_config`, the path of ``init_detector`` and
    ``tools/test.py``) or a torchvision state dict (converted on the fly). Without one,
    torchvision's model is initialised from ``seed`` and its classifier is boosted
    (:func:`boost_torchvision_detections`) so that there are detections to post-process and
    masks to paste, as with trained weights.
    """
    class_ids: Optional[List[int]] = None
    mm_checkpoint = None
    tv_state = None
    if checkpoint is not None:
        ckpt = load_checkpoint_safely(checkpoint)
        state = unwrap_state_dict(ckpt, checkpoint)
        if _is_torchvision_state_dict(state):
            tv_state = state
        else:
            mm_checkpoint = checkpoint
            class_ids = (ckpt.get('meta') or {}).get('torchvision_class_ids')
    model = build_detector_from_config(config, mm_checkpoint, device=device, strict=True)
    with_mask = bool(getattr(model, 'with_mask', False))
    tv_model = None
    if compare_torchvision or mm_checkpoint is None:
        if tv_state is None and mm_checkpoint is None:
            torch.manual_seed(seed)
        tv_model = build_torchvision_detector(with_mask=with_mask)
        if tv_state is not None:
            tv_model.load_state_dict(tv_state)
        elif mm_checkpoint is not None:
            tv_model.load_state_dict(convert_mmdet_to_torchvision_state_dict(
                model.state_dict(), class_ids))
        else:
            unused = [i for i in range(1, 91) if i not in default_class_ids(91)]
            boost_torchvision_detections(tv_model, unused_class_ids=unused)
        if mm_checkpoint is None:
            model.load_state_dict(
                torchvision_to_mmdet_checkpoint(tv_model.state_dict())['state_dict'], strict=True)
    if not compare_torchvision:
        return model, None
    return model, tv_model.to(device).eval()


def run_benchmark(config, checkpoint: Optional[str] = None, compare_torchvision: bool = False,
                  shape: Sequence[int] = (800, 1216), num_images: int = 3, warmup: int = 1,
                  device: str = 'cpu', threads: Optional[int] = None, seed: int = 0,
                  fuse_conv_bn: bool = False) -> dict:
    """Median latency over ``num_images`` images after ``warmup`` ones (tools are thin: docs/conventions.md §6).

    Returns ``dict(device, threads, shape, num_images, warmup, rows=[dict(name, median_s,
    mean_s, min_s, dets_per_img)], ratio)`` where ``ratio`` = mmdet_lite / torchvision median
    (None without ``compare_torchvision``). ``fuse_conv_bn`` folds mmdet_lite's eval-mode BN
    layers into the preceding convs (``mmcv.cnn.fuse_conv_bn``, mmdetection 2.x's
    ``--fuse-conv-bn``); torchvision's model is left as torchvision runs it.
    """
    if len(shape) != 2 or min(shape) < 32:
        raise ValueError(f'--shape must be two sizes (H W) of at least 32, got {shape}')
    if num_images < 1 or warmup < 0:
        raise ValueError(f'need num_images >= 1 and warmup >= 0, got {num_images}, {warmup}')
    if threads is not None:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda asked for, but torch.cuda.is_available() is False')
    height, width = int(shape[0]), int(shape[1])
    model, tv_model = build_benchmark_models(config, checkpoint, compare_torchvision, seed,
                                             device)
    if fuse_conv_bn:
        model = fold_conv_bn(model)
    inputs = [img.to(dev) for img in make_benchmark_inputs(height, width, warmup + num_images,
                                                           seed)]

    def run_mmdet(img: Tensor) -> int:
        with torch.no_grad():
            return _count_mmdet(model.simple_test(img, mmdet_img_metas(height, width),
                                                  rescale=True))

    def run_tv(img: Tensor) -> int:
        dets = torchvision_detect(tv_model, img, [(height, width)])
        return int(dets[0]['boxes'].shape[0])

    runners = [('mmdet_lite (conv+bn fused)' if fuse_conv_bn else 'mmdet_lite', run_mmdet)]
    if tv_model is not None:
        runners.append(('torchvision', run_tv))
    times: Dict[str, List[float]] = {name: [] for name, _ in runners}
    dets: Dict[str, List[int]] = {name: [] for name, _ in runners}
    for i, img in enumerate(inputs):
        order = runners if i % 2 == 0 else runners[::-1]
        for name, fn in order:
            seconds, num = _timed(lambda: fn(img), dev)
            if i >= warmup:
                times[name].append(seconds)
                dets[name].append(num)
    rows = [dict(name=name, median_s=statistics.median(times[name]),
                 mean_s=statistics.fmean(times[name]), min_s=min(times[name]),
                 dets_per_img=statistics.fmean(dets[name])) for name, _ in runners]
    ratio = rows[0]['median_s'] / rows[1]['median_s'] if len(rows) == 2 else None
    return dict(device=str(dev), threads=torch.get_num_threads(), shape=(height, width),
                num_images=num_images, warmup=warmup, rows=rows, ratio=ratio)


def format_benchmark(report: dict) -> str:
    """A plain-text table of :func:`run_benchmark`'s report."""
    height, width = report['shape']
    table = [['model', 'median (ms)', 'mean (ms)', 'min (ms)', 'dets/img']]
    for row in report['rows']:
        table.append([row['name'], f"{row['median_s'] * 1e3:.1f}", f"{row['mean_s'] * 1e3:.1f}",
                      f"{row['min_s'] * 1e3:.1f}", f"{row['dets_per_img']:.1f}"])
    lines = [f"device={report['device']} torch.get_num_threads()={report['threads']} "
             f"input=1x3x{height}x{width} images={report['num_images']} "
             f"warmup={report['warmup']}", AsciiTable(table).table]
    if report['ratio'] is not None:
        lines.append(f"mmdet_lite / torchvision (median): {report['ratio']:.3f}")
    return '\n'.join(lines)

"""Inference latency of an mmdet_lite detector, optionally side by side with torchvision's.

All models get the same weights and the very same normalised, padded input batch; each batch
is timed for every model in turn (the order rotates from batch to batch) so that load from
other processes on the machine hits them alike. Latency = ``simple_test`` for mmdet_lite (run
as ``init_detector`` / ``tools/test.py`` run it: BN folded, channels_last on CPU, see
:func:`~mmdet_lite.apis.inference_speed.optimize_for_inference`) and ``backbone → rpn →
roi_heads → transform.postprocess`` (RetinaNet: ``backbone → head → postprocess_detections``)
for torchvision (:func:`~mmdet_lite.convert.torchvision_runner.torchvision_detect`): both
include box post-processing and pasting the masks into the image. Each row also says how far
its detections are from the reference row's (torchvision's, else the first): same count per
image and the largest difference of the sorted scores.
"""
import copy
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from terminaltables import AsciiTable
from torch import nn

from ..apis import build_detector_from_config
from ..apis.inference_speed import optimize_for_inference, run_inference
from ..checkpoint import load_checkpoint_safely, unwrap_state_dict
from ..convert.torchvision_convert import (ABSENT_CLASS_BIAS,
                                           convert_mmdet_to_torchvision_state_dict,
                                           default_class_ids, torchvision_to_mmdet_checkpoint)
from ..convert.torchvision_runner import (build_torchvision_detector, torchvision_detect,
                                          torchvision_kind_of, torchvision_to_mmdet_results)

Tensor = torch.Tensor

__all__ = ['boost_torchvision_detections', 'boost_torchvision_retinanet',
           'build_benchmark_models', 'make_benchmark_inputs', 'mmdet_img_metas', 'run_benchmark',
           'format_benchmark', 'MMDET_VARIANTS']

_IMG_MEAN = (123.675, 116.28, 103.53)
_IMG_STD = (58.395, 57.12, 57.375)


def boost_torchvision_detections(model: nn.Module, cls_scale: float = 0.4,
                                 bbox_scale: float = 0.1, rpn_bbox_scale: float = 0.1,
                                 unused_class_ids: Sequence[int] = ()) -> None:
    """Make a randomly initialised torchvision R-CNN behave like a trained one, in place
    (RetinaNet: :func:`boost_torchvision_retinanet`).

    A random R50-FPN has large activations: its classifier's softmax saturates and its box
    deltas (RPN and box head) turn anchors into slivers. Scaling ``cls_score`` by
    ``cls_scale`` spreads the class scores so that some (not all) pass the 0.05 threshold, and
    scaling the two ``bbox_pred`` layers keeps boxes anchor-sized, so the masks pasted into
    them cover real areas. Classes in ``unused_class_ids`` get zero weights and a bias of
    ``ABSENT_CLASS_BIAS``: their probability is exactly 0, as COCO's unused ids are (nearly)
    in a trained model (the converter drops those rows).
    """
    if not hasattr(model, 'roi_heads'):
        boost_torchvision_retinanet(model, unused_class_ids=unused_class_ids)
        return
    predictor = model.roi_heads.box_predictor
    with torch.no_grad():
        predictor.cls_score.weight.mul_(cls_scale)
        predictor.bbox_pred.weight.mul_(bbox_scale)
        model.rpn.head.bbox_pred.weight.mul_(rpn_bbox_scale)
        if len(unused_class_ids):
            ids = torch.as_tensor(list(unused_class_ids), dtype=torch.long)
            predictor.cls_score.weight[ids] = 0
            predictor.cls_score.bias[ids] = ABSENT_CLASS_BIAS


def boost_torchvision_retinanet(model: nn.Module, cls_bias: float = -2.5,
                                bbox_scale: float = 0.1,
                                unused_class_ids: Sequence[int] = ()) -> None:
    """Give a randomly initialised torchvision RetinaNet detections, in place.

    Its classification bias starts at the 0.01 prior, below the 0.05 score threshold: a bias
    of ``cls_bias`` lifts part of the scores above it. ``bbox_reg`` is scaled by ``bbox_scale``
    to keep boxes anchor-sized. Classes in ``unused_class_ids`` (and the background column 0,
    which RetinaNet never predicts) get zero weights and a bias of ``ABSENT_CLASS_BIAS``.
    """
    head = model.head
    cls_logits = head.classification_head.cls_logits
    num_anchors = head.regression_head.bbox_reg.out_channels // 4
    num_classes = cls_logits.out_channels // num_anchors
    absent = torch.as_tensor([0] + [int(i) for i in unused_class_ids], dtype=torch.long)
    with torch.no_grad():
        cls_logits.bias.fill_(cls_bias)
        weight = cls_logits.weight.view(num_anchors, num_classes, -1)
        bias = cls_logits.bias.view(num_anchors, num_classes)
        weight[:, absent] = 0
        bias[:, absent] = ABSENT_CLASS_BIAS
        head.regression_head.bbox_reg.weight.mul_(bbox_scale)


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
    return any(k.startswith(('backbone.body.', 'rpn.head.', 'roi_heads.', 'head.'))
               for k in state_dict)


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


#: What ``timer`` measures: wall-clock seconds, or CPU seconds of this process (all threads),
#: which other processes' load on a shared machine affects far less.
TIMERS: Dict[str, Callable[[], float]] = dict(wall=time.perf_counter, process=time.process_time)


def _timed(fn: Callable[[], object], device: torch.device,
           timer: Callable[[], float] = time.perf_counter) -> Tuple[float, object]:
    """(seconds, result) of one call of ``fn``."""
    _synchronize(device)
    start = timer()
    result = fn()
    _synchronize(device)
    return timer() - start, result


def _scores_mmdet(result) -> np.ndarray:
    """Sorted scores of one image's docs/conventions.md §3 result."""
    bbox_results = result[0] if isinstance(result, tuple) else result
    scores = np.concatenate([np.asarray(b).reshape(-1, 5)[:, 4] for b in bbox_results])
    return np.sort(scores)


def build_benchmark_models(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
                           compare_torchvision: bool = False, seed: int = 0,
                           device: str = 'cpu') -> Tuple[nn.Module, Optional[nn.Module]]:
    """The mmdet_lite model of ``config`` and, if asked, torchvision's twin with equal weights.

    ``checkpoint`` may be an mmdet_lite checkpoint (loaded strictly by
    :func:`~mmdet_lite.apis.build_detector_from_config`, the path of ``init_detector`` and
    ``tools/test.py``) or a torchvision state dict (converted on the fly). Without one,
    torchvision's model is initialised from ``seed`` and its classifier is boosted
    (:func:`boost_torchvision_detections`) so that there are detections to post-process and
    masks to paste, as with trained weights. The mmdet_lite model is returned as built (no
    inference speed-ups applied: :func:`run_benchmark` applies them).
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
    tv_model = None
    if compare_torchvision or mm_checkpoint is None:
        if tv_state is None and mm_checkpoint is None:
            torch.manual_seed(seed)
        tv_model = build_torchvision_detector(kind=torchvision_kind_of(model))
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


#: Ready-made mmdet_lite variants for ``run_benchmark(variants=...)``: row name → keyword
#: arguments of :func:`~mmdet_lite.apis.inference_speed.optimize_for_inference` (None: the
#: model as built, mmdetection 2.x's way).
MMDET_VARIANTS: Dict[str, Optional[dict]] = {
    'mmdet_lite (plain)': None,
    'mmdet_lite (BN folded)': dict(channels_last=False),
    'mmdet_lite (channels_last)': dict(fuse_conv_bn=False, channels_last=True),
}


def run_benchmark(config, checkpoint: Optional[str] = None, compare_torchvision: bool = False,
                  shape: Sequence[int] = (800, 1216), num_images: int = 3, warmup: int = 1,
                  device: str = 'cpu', threads: Optional[int] = None, seed: int = 0,
                  fuse_conv_bn: bool = True, channels_last: Optional[bool] = None,
                  precision: str = 'fp32', force_precision: bool = False, batch_size: int = 1,
                  variants: Sequence[str] = (), timer: str = 'wall') -> dict:
    """Latency per batch over ``num_images`` timed batches after ``warmup`` ones.

    The row ``'mmdet_lite'`` is the model as ``init_detector`` gives it: ``fuse_conv_bn``,
    ``channels_last`` (None: on for CPU), ``precision`` and ``force_precision`` go to
    :func:`~mmdet_lite.apis.inference_speed.optimize_for_inference`. ``variants`` adds rows of
    :data:`MMDET_VARIANTS` (e.g. ``'mmdet_lite (plain)'``, the model without speed-ups), each a
    copy of the same model. ``timer`` is ``'wall'`` or ``'process'`` (:data:`TIMERS`).

    Returns ``dict(device, threads, shape, batch_size, num_images, warmup, timer,
    precision_note, reference, rows=[dict(name, median_s, mean_s, min_s, max_s, dets_per_img,
    ratio, same_counts, max_score_diff)], ratio)``: ``ratio`` = a row's median / torchvision's
    (None without ``compare_torchvision``; the top-level ``ratio`` is the ``'mmdet_lite'``
    row's), ``same_counts`` / ``max_score_diff`` compare the row's detections with the
    reference row's (torchvision's, else the first row's).
    """
    if len(shape) != 2 or min(shape) < 32:
        raise ValueError(f'--shape must be two sizes (H W) of at least 32, got {shape}')
    if num_images < 1 or warmup < 0 or batch_size < 1:
        raise ValueError(f'need num_images >= 1, warmup >= 0 and batch_size >= 1, got '
                         f'{num_images}, {warmup}, {batch_size}')
    unknown = [v for v in variants if v not in MMDET_VARIANTS]
    if unknown or timer not in TIMERS:
        raise ValueError(f'variants {unknown} / timer {timer!r} unknown; variants are '
                         f'{list(MMDET_VARIANTS)}, timers {list(TIMERS)}')
    if threads is not None:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda asked for, but torch.cuda.is_available() is False')
    height, width = int(shape[0]), int(shape[1])
    plain, tv_model = build_benchmark_models(config, checkpoint, compare_torchvision, seed,
                                             device)
    models: Dict[str, nn.Module] = {}
    for name in variants:
        kwargs = MMDET_VARIANTS[name]
        models[name] = (copy.deepcopy(plain) if kwargs is None else optimize_for_inference(
            copy.deepcopy(plain), precision=precision, force_precision=force_precision,
            **kwargs))
    models['mmdet_lite'] = optimize_for_inference(
        plain, fuse_conv_bn=fuse_conv_bn, channels_last=channels_last, precision=precision,
        force_precision=force_precision)
    images = make_benchmark_inputs(height, width, (warmup + num_images) * batch_size, seed)
    batches = [torch.cat(images[i:i + batch_size]).to(dev)
               for i in range(0, len(images), batch_size)]
    metas = mmdet_img_metas(height, width) * batch_size

    def mmdet_runner(model: nn.Module) -> Callable[[Tensor], List[np.ndarray]]:
        def run(img: Tensor) -> List[np.ndarray]:
            results = run_inference(model, lambda: model.simple_test(img, metas, rescale=True))
            return [_scores_mmdet(r) for r in results]
        return run

    def run_tv(img: Tensor) -> List[np.ndarray]:
        dets = torchvision_detect(tv_model, img, [(height, width)] * batch_size)
        return [_scores_mmdet(r) for r in torchvision_to_mmdet_results(dets)]

    runners = [('mmdet_lite', mmdet_runner(models['mmdet_lite']))]
    runners += [(name, mmdet_runner(models[name])) for name in variants]
    if tv_model is not None:
        runners.append(('torchvision', run_tv))
    times: Dict[str, List[float]] = {name: [] for name, _ in runners}
    scores: Dict[str, List[np.ndarray]] = {name: [] for name, _ in runners}
    clock = TIMERS[timer]
    for i, img in enumerate(batches):
        shift = i % len(runners)
        for name, fn in runners[shift:] + runners[:shift]:
            seconds, per_image = _timed(lambda: fn(img), dev, clock)
            if i >= warmup:
                times[name].append(seconds)
                scores[name].extend(per_image)
    reference = 'torchvision' if tv_model is not None else runners[0][0]
    rows = []
    for name, _ in runners:
        pairs = list(zip(scores[name], scores[reference]))
        same = all(len(a) == len(b) for a, b in pairs)
        diff = max((float(np.abs(a - b).max()) for a, b in pairs if len(a) == len(b) and len(a)),
                   default=0.0)
        rows.append(dict(name=name, median_s=statistics.median(times[name]),
                         mean_s=statistics.fmean(times[name]), min_s=min(times[name]),
                         max_s=max(times[name]),
                         dets_per_img=statistics.fmean(len(s) for s in scores[name]),
                         same_counts=same, max_score_diff=diff if same else None))
    tv_median = statistics.median(times['torchvision']) if tv_model is not None else None
    for row in rows:
        row['ratio'] = row['median_s'] / tv_median if tv_median else None
    settings = models['mmdet_lite'].inference_settings
    return dict(device=str(dev), threads=torch.get_num_threads(), shape=(height, width),
                batch_size=batch_size, num_images=num_images, warmup=warmup, timer=timer,
                precision_note=settings.precision_note, reference=reference, rows=rows,
                ratio=rows[0]['ratio'])


def format_benchmark(report: dict) -> str:
    """A plain-text table of :func:`run_benchmark`'s report."""
    height, width = report['shape']
    batch = report.get('batch_size', 1)
    table = [['model', 'median (ms/batch)', 'min (ms)', 'max (ms)', 'mean (ms)', 'dets/img',
              '/ torchvision', 'same dets']]
    for row in report['rows']:
        if row['name'] == report['reference']:
            same = 'reference'
        elif not row['same_counts']:
            same = 'no: counts differ'
        else:
            same = f"yes, |d score| <= {row['max_score_diff']:.1e}"
        table.append([row['name'], f"{row['median_s'] * 1e3:.1f}", f"{row['min_s'] * 1e3:.1f}",
                      f"{row['max_s'] * 1e3:.1f}", f"{row['mean_s'] * 1e3:.1f}",
                      f"{row['dets_per_img']:.1f}",
                      '-' if row['ratio'] is None else f"{row['ratio']:.3f}", same])
    lines = [f"device={report['device']} torch.get_num_threads()={report['threads']} "
             f"input={batch}x3x{height}x{width} batches={report['num_images']} "
             f"warmup={report['warmup']} timer={report.get('timer', 'wall')} "
             f"precision={report.get('precision_note', 'fp32')}", AsciiTable(table).table]
    if report['ratio'] is not None:
        lines.append(f"mmdet_lite / torchvision (median): {report['ratio']:.3f}")
    return '\n'.join(lines)

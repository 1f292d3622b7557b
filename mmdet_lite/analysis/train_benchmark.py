"""Training-iteration time of an mmdet_lite R-CNN, side by side with torchvision and mmdet 2.28.

One iteration = forward with losses, backward of their sum, one SGD step, on the very same
batch (images, boxes, labels, masks) and from the very same weights for every tool: before
each timed iteration every model is reset to the shared starting weights and gets a fresh
optimizer and the same RNG seed, outside the timed span. The tools take turns (the order
rotates every iteration) so that load from other processes on the machine hits them alike.

* mmdet_lite: ``model.forward_train`` of the config's detector (``train_cfg`` kept).
* torchvision: ``maskrcnn_resnet50_fpn`` / ``fasterrcnn_resnet50_fpn`` as torchvision trains
  it from a pretrained backbone (``FrozenBatchNorm2d``, conv1 and layer1 frozen: the 2.x
  ``frozen_stages=1``, ``norm_eval=True``), with the config's train-time proposal counts and
  RoI sampler; weights converted from mmdet_lite's (:mod:`mmdet_lite.convert.torchvision_convert`).
  Its ``GeneralizedRCNNTransform`` is skipped: both see the same normalised tensor.
* mmdetection 2.28 (optional): a worker process in the oracle venv
  (``tools/analysis_tools/mmdet2_train_worker.py``) builds the same model dict with the same
  weights and times its own iterations; the parent only tells it when to run, so the
  interleaving holds and no inter-process time is counted.

Shapes: ``N`` images, ``(H, W)`` the image size, ``G`` ground-truth objects per image.
"""
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from terminaltables import AsciiTable
from torch import nn

from ..apis.builder import load_config
from ..core import BitmapMasks
from ..convert.torchvision_convert import default_class_ids
from ..engine.training_speed import optimize_for_training, training_speed_options
from ..models import build_detector
from .benchmark import build_benchmark_models, make_benchmark_inputs, mmdet_img_metas

Tensor = torch.Tensor

__all__ = ['TrainBatch', 'make_train_batch', 'build_torchvision_trainer', 'mmdet2_model_dict',
           'IterationTimes', 'mmdet_lite_iteration', 'torchvision_targets',
           'torchvision_iteration', 'interleave', 'Mmdet2Worker',
           'run_train_benchmark', 'format_train_benchmark', 'MMDET_LITE_ONLY_KEYS']

#: Config keys mmdet_lite adds to 2.x's models (see the configs under configs/torchvision/);
#: they are dropped from the model dict sent to mmdetection 2.28. None changes a training
#: iteration's cost: anchor rounding and strides read from the input, mask pasting at test.
MMDET_LITE_ONLY_KEYS = ('round_base_anchors', 'strides_from_input', 'mask_paste')

_DEFAULT_MMDET2_PYTHON = os.path.join(os.environ.get('MMDET2_VENV', '/tmp/mmdet2_venv'),
                                      'bin', 'python')
_DEFAULT_MMDET2_SHIM = os.environ.get('MMDET2_SHIM', '/work/shared/mmdet2_oracle/mmdet2_shim')
_WORKER = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / \
    'mmdet2_train_worker.py'


class TrainBatch(NamedTuple):
    """One training batch, in the form every tool can take.

    img (N, 3, H, W) normalised; gt_bboxes N x (G, 4) xyxy float32; gt_labels N x (G,) int64
    0-based; gt_masks N x (G, H, W) uint8 (ellipses inscribed in the boxes).
    """
    img: Tensor
    gt_bboxes: List[Tensor]
    gt_labels: List[Tensor]
    gt_masks: List[Tensor]


def make_train_batch(height: int, width: int, batch_size: int = 2, num_gts: int = 8,
                     num_classes: int = 80, seed: int = 0) -> TrainBatch:
    """A seeded batch of smooth random images with ``num_gts`` random objects each.

    Boxes span 1/16 to 1/2 of the image side, so every FPN level gets positives.
    """
    if height < 32 or width < 32 or batch_size < 1 or num_gts < 1:
        raise ValueError(f'need an image of at least 32x32, batch_size >= 1 and num_gts >= 1, '
                         f'got {height}x{width}, {batch_size}, {num_gts}')
    imgs = make_benchmark_inputs(height, width, batch_size, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    size = torch.tensor([width, height], dtype=torch.float32)
    gt_bboxes, gt_labels, gt_masks = [], [], []
    ys = torch.arange(height, dtype=torch.float32)[:, None]
    xs = torch.arange(width, dtype=torch.float32)[None, :]
    for _ in range(batch_size):
        wh = (1 / 16 + torch.rand(num_gts, 2, generator=gen) * (1 / 2 - 1 / 16)) * size
        xy = torch.rand(num_gts, 2, generator=gen) * (size - wh)
        boxes = torch.cat([xy, xy + wh], dim=1).floor()
        gt_bboxes.append(boxes)
        gt_labels.append(torch.randint(0, num_classes, (num_gts,), generator=gen))
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        half = (boxes[:, 2:] - boxes[:, :2]) / 2
        masks = [((((xs + 0.5 - c[0]) / h[0]) ** 2 + ((ys + 0.5 - c[1]) / h[1]) ** 2) <= 1)
                 .to(torch.uint8) for c, h in zip(centre, half)]
        gt_masks.append(torch.stack(masks))
    return TrainBatch(torch.cat(imgs), gt_bboxes, gt_labels, gt_masks)


def _train_img_metas(batch: TrainBatch) -> List[dict]:
    height, width = batch.img.shape[-2:]
    return [mmdet_img_metas(height, width)[0] for _ in range(batch.img.size(0))]


def build_torchvision_trainer(model_cfg: dict, with_mask: bool,
                              num_classes: int = 91) -> nn.Module:
    """torchvision's R50-FPN R-CNN as torchvision trains it, with ``model_cfg``'s train counts.

    torchvision's builder only freezes BN and the first stages when it loads pretrained
    weights; this builds the same network with ``FrozenBatchNorm2d`` and 3 trainable stages
    (its default for a pretrained backbone, = 2.x's ``frozen_stages=1`` + ``norm_eval``)
    without downloading anything. From ``model_cfg.train_cfg``: RPN ``nms_pre`` (per level)
    and ``max_per_img`` of ``rpn_proposal``, RPN and R-CNN sampler ``num`` and
    ``pos_fraction``.
    """
    from torchvision.models import resnet50
    from torchvision.models.detection import FasterRCNN, MaskRCNN
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d
    backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3)
    model = (MaskRCNN if with_mask else FasterRCNN)(backbone, num_classes=num_classes)
    train_cfg = model_cfg.get('train_cfg') or {}
    proposal = train_cfg.get('rpn_proposal') or {}
    if 'nms_pre' in proposal:
        model.rpn._pre_nms_top_n['training'] = int(proposal['nms_pre'])
    if 'max_per_img' in proposal:
        model.rpn._post_nms_top_n['training'] = int(proposal['max_per_img'])
    for sampler, key in ((model.rpn.fg_bg_sampler, 'rpn'),
                         (model.roi_heads.fg_bg_sampler, 'rcnn')):
        cfg = (train_cfg.get(key) or {}).get('sampler') or {}
        sampler.batch_size_per_image = int(cfg.get('num', sampler.batch_size_per_image))
        sampler.positive_fraction = float(cfg.get('pos_fraction', sampler.positive_fraction))
    return model.train()


def _strip_keys(obj, keys: Sequence[str], removed: List[str], path: str = 'model'):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in keys:
                removed.append(f'{path}.{k}')
                continue
            out[k] = _strip_keys(v, keys, removed, f'{path}.{k}')
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_strip_keys(v, keys, removed, f'{path}[{i}]') for i, v in enumerate(obj))
    return obj


def mmdet2_model_dict(cfg: Config) -> Tuple[dict, List[str]]:
    """``cfg.model`` as a plain dict mmdetection 2.28 builds, and the dotted keys dropped."""
    removed: List[str] = []
    model = _strip_keys(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict')
                        else dict(cfg.model), MMDET_LITE_ONLY_KEYS, removed)
    if model.get('backbone', {}).get('init_cfg') is not None:
        model['backbone']['init_cfg'] = None
    model.pop('pretrained', None)
    return model, removed


class IterationTimes(NamedTuple):
    """Wall seconds of one iteration's phases, the process's CPU seconds over all three (all
    threads; less sensitive than wall time to other processes on a shared machine) and the
    summed loss it back-propagated."""
    forward_s: float
    backward_s: float
    step_s: float
    cpu_s: float
    loss: float

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s + self.step_s


def _timed_iteration(losses_fn: Callable[[], Dict[str, Tensor]],
                     optimizer: torch.optim.Optimizer) -> IterationTimes:
    cpu_start = time.process_time()
    start = time.perf_counter()
    losses = losses_fn()
    loss = sum(_loss_terms(losses))
    t_fwd = time.perf_counter()
    loss.backward()
    t_bwd = time.perf_counter()
    optimizer.step()
    t_step = time.perf_counter()
    return IterationTimes(t_fwd - start, t_bwd - t_fwd, t_step - t_bwd,
                          time.process_time() - cpu_start, float(loss.detach()))


def _loss_terms(losses: Dict[str, Union[Tensor, List[Tensor]]]) -> List[Tensor]:
    """The terms 2.x back-propagates: every value whose key contains 'loss' (each item of a
    list, e.g. one per level, on its own; a non-scalar by its mean, as 2.x's ``_parse_losses``)."""
    terms = []
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        terms.extend(value if isinstance(value, (list, tuple)) else [value])
    return [t.mean() if t.dim() else t for t in terms]


def mmdet_lite_iteration(model: nn.Module, optimizer: torch.optim.Optimizer,
                         batch: TrainBatch) -> IterationTimes:
    """One timed ``forward_train`` + backward + step of an mmdet_lite detector."""
    height, width = batch.img.shape[-2:]
    metas = _train_img_metas(batch)
    masks = [BitmapMasks(m.numpy(), height, width) for m in batch.gt_masks]
    kwargs = dict(gt_masks=masks) if getattr(model, 'with_mask', False) else {}
    return _timed_iteration(
        lambda: model.forward_train(batch.img, metas, list(batch.gt_bboxes),
                                    list(batch.gt_labels), **kwargs), optimizer)


def torchvision_targets(batch: TrainBatch, class_ids: Sequence[int],
                        with_mask: bool) -> List[Dict[str, Tensor]]:
    """torchvision's per-image targets of ``batch``: the same box and mask tensors, labels
    mapped to torchvision's (1-based) class indices by ``class_ids``."""
    lut = torch.as_tensor(list(class_ids), dtype=torch.long)
    targets = []
    for boxes, labels, masks in zip(batch.gt_bboxes, batch.gt_labels, batch.gt_masks):
        target = dict(boxes=boxes, labels=lut[labels])
        if with_mask:
            target['masks'] = masks
        targets.append(target)
    return targets


def torchvision_iteration(model: nn.Module, optimizer: torch.optim.Optimizer,
                          batch: TrainBatch, class_ids: Sequence[int]) -> IterationTimes:
    """One timed iteration of torchvision's model: backbone, RPN and RoI heads with targets
    (``GeneralizedRCNN.forward`` in training mode without its transform)."""
    from torchvision.models.detection.image_list import ImageList
    sizes = [tuple(batch.img.shape[-2:])] * batch.img.size(0)
    with_mask = getattr(model.roi_heads, 'mask_head', None) is not None
    targets = torchvision_targets(batch, class_ids, with_mask)

    def losses() -> Dict[str, Tensor]:
        images = ImageList(batch.img, sizes)
        features = model.backbone(images.tensors)
        proposals, rpn_losses = model.rpn(images, features, targets)
        _, roi_losses = model.roi_heads(features, proposals, images.image_sizes, targets)
        return {**rpn_losses, **roi_losses}

    return _timed_iteration(losses, optimizer)


def interleave(runners: Dict[str, Callable[[int], IterationTimes]], num_iters: int,
               warmup: int = 0, seed: int = 0) -> Dict[str, List[IterationTimes]]:
    """Run every runner once per iteration, the order rotating by one each iteration
    (A B C, B C A, C A B, ...); iteration ``i`` passes ``seed + i`` to all of them. Returns
    each runner's results of the iterations after the first ``warmup``."""
    names = list(runners)
    times: Dict[str, List[IterationTimes]] = {name: [] for name in names}
    for i in range(warmup + num_iters):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            result = runners[name](seed + i)
            if i >= warmup:
                times[name].append(result)
    return times


class Mmdet2Worker:
    """mmdetection 2.28 training iterations in the oracle venv, one per :meth:`step`.

    The worker builds ``model_dict`` with ``state_dict`` and reads the batch once; each step
    resets its weights, seeds, runs one iteration and answers with its own timings.
    """

    def __init__(self, python: str, model_dict: dict, state_dict: Dict[str, Tensor],
                 batch: TrainBatch, lr: float, momentum: float, weight_decay: float,
                 threads: int, shim: str = _DEFAULT_MMDET2_SHIM) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix='mmdet2_train_')
        payload = os.path.join(self._dir.name, 'payload.pt')
        torch.save(dict(model=json.dumps(model_dict), state_dict=dict(state_dict),
                        img=batch.img, gt_bboxes=list(batch.gt_bboxes),
                        gt_labels=list(batch.gt_labels), gt_masks=list(batch.gt_masks),
                        lr=lr, momentum=momentum, weight_decay=weight_decay,
                        threads=threads), payload)
        env = dict(os.environ, MMDET2_SHIM=shim)
        self._proc = subprocess.Popen([python, str(_WORKER), payload], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=env)
        self._expect('ready')

    def _expect(self, kind: str) -> dict:
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            raise RuntimeError(f'the mmdetection 2.28 worker ({_WORKER}) exited with code '
                               f'{code} before answering {kind!r}; its error is printed above')
        reply = json.loads(line)
        if reply.get('kind') != kind:
            raise RuntimeError(f'mmdetection 2.28 worker: expected {kind!r}, got {reply}')
        return reply

    def step(self, seed: int) -> IterationTimes:
        self._proc.stdin.write(f'{seed}\n')
        self._proc.stdin.flush()
        reply = self._expect('step')
        return IterationTimes(reply['forward_s'], reply['backward_s'], reply['step_s'],
                              reply['cpu_s'], reply['loss'])

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=60)
        self._dir.cleanup()


def _build_train_model(cfg: Config) -> nn.Module:
    cfg = copy.deepcopy(cfg)
    if cfg.model.get('backbone') is not None and 'init_cfg' in cfg.model.backbone:
        cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        model = build_detector(cfg.model)
    return model


def _sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float):
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _reset(model: nn.Module, state: Dict[str, Tensor], seed: int) -> None:
    model.load_state_dict(state)
    for p in model.parameters():
        p.grad = None
    torch.manual_seed(seed)


def run_train_benchmark(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
                        shape: Sequence[int] = (800, 1216), batch_size: int = 2,
                        num_iters: int = 3, warmup: int = 1, num_gts: int = 8,
                        compare_torchvision: bool = True, mmdet2_python: Optional[str] = None,
                        threads: Optional[int] = None, seed: int = 0, lr: float = 0.02,
                        momentum: float = 0.9, weight_decay: float = 1e-4,
                        model_hook: Optional[Callable[[nn.Module], None]] = None,
                        training_speed: Optional[dict] = None,
                        compare_plain: bool = False) -> dict:
    """Median/min/max seconds per training iteration of each tool (CPU).

    Args:
        config: an mmdet_lite R50-FPN Faster/Mask R-CNN config (for torchvision's twin).
        checkpoint: mmdet_lite checkpoint or torchvision state dict; None = seeded weights
            (see :func:`~mmdet_lite.analysis.benchmark.build_benchmark_models`).
        mmdet2_python: python of the mmdetection 2.28 venv; 'auto' = ``$MMDET2_VENV`` (default
            /tmp/mmdet2_venv) when it exists; None = no 2.28 run.
        model_hook: called on mmdet_lite's model before timing (to try a variant); the
            others are left alone.
        training_speed: mmdet_lite's speed-ups, as the config key of that name
            (:mod:`mmdet_lite.engine.training_speed`); None = the config's, i.e. what
            ``tools/train.py`` applies.
        compare_plain: also time a copy of mmdet_lite's model without the speed-ups
            (row ``mmdet_lite (plain)``).

    Returns:
        ``dict(shape, batch_size, num_iters, warmup, threads, rows=[dict(name, median_s,
        min_s, max_s, forward_s, backward_s, step_s, cpu_s, loss, times)]`` (medians; times:
        each timed iteration's wall seconds), ratios={name: mmdet_lite
        median / name median}, dropped_keys, params_changed={name: bool},
        training_speed=dict(folded_pairs, channels_last))``.
    """
    if len(shape) != 2 or min(shape) < 32:
        raise ValueError(f'--shape must be two sizes (H W) of at least 32, got {shape}')
    if num_iters < 1 or warmup < 0:
        raise ValueError(f'need num_iters >= 1 and warmup >= 0, got {num_iters}, {warmup}')
    if threads is not None:
        torch.set_num_threads(threads)
    cfg = load_config(config)
    height, width = int(shape[0]), int(shape[1])
    eval_model, tv_eval = build_benchmark_models(cfg, checkpoint, True, seed, 'cpu')
    start_state = {k: v.clone() for k, v in eval_model.state_dict().items()}
    model = _build_train_model(cfg)
    model.load_state_dict(start_state, strict=True)
    model.train()
    plain = copy.deepcopy(model) if compare_plain else None
    speed = optimize_for_training(model, **training_speed_options(
        cfg.get('training_speed') if training_speed is None else training_speed,
        cfg.filename or 'the config'))
    if model_hook is not None:
        model_hook(model)
    with_mask = bool(getattr(model, 'with_mask', False))
    class_ids = default_class_ids(91)
    batch = make_train_batch(height, width, batch_size, num_gts, seed=seed)

    runners: Dict[str, Callable[[int], IterationTimes]] = {}
    watched: Dict[str, Tuple[nn.Module, Dict[str, Tensor]]] = {}

    def run_mmdet(it_seed: int) -> IterationTimes:
        _reset(model, start_state, it_seed)
        return mmdet_lite_iteration(model, _sgd(model, lr, momentum, weight_decay), batch)

    runners['mmdet_lite'] = run_mmdet
    watched['mmdet_lite'] = (model, start_state)
    if plain is not None:
        def run_plain(it_seed: int) -> IterationTimes:
            _reset(plain, start_state, it_seed)
            return mmdet_lite_iteration(plain, _sgd(plain, lr, momentum, weight_decay), batch)

        runners['mmdet_lite (plain)'] = run_plain
        watched['mmdet_lite (plain)'] = (plain, start_state)
    if compare_torchvision:
        tv_model = build_torchvision_trainer(cfg.model, with_mask, num_classes=91)
        tv_model.load_state_dict(tv_eval.state_dict())
        tv_start = {k: v.clone() for k, v in tv_model.state_dict().items()}

        def run_tv(it_seed: int) -> IterationTimes:
            _reset(tv_model, tv_start, it_seed)
            return torchvision_iteration(tv_model, _sgd(tv_model, lr, momentum, weight_decay),
                                         batch, class_ids)

        runners['torchvision'] = run_tv
        watched['torchvision'] = (tv_model, tv_start)
    del eval_model, tv_eval
    worker = None
    dropped: List[str] = []
    if mmdet2_python == 'auto':
        mmdet2_python = _DEFAULT_MMDET2_PYTHON if os.path.exists(_DEFAULT_MMDET2_PYTHON) else None
    if mmdet2_python is not None:
        if not os.path.exists(mmdet2_python):
            raise FileNotFoundError(f'--mmdet2-python {mmdet2_python!r} does not exist; set up '
                                    'the oracle venv (../shared/mmdet2_oracle/setup.sh) or '
                                    'leave the option out')
        model_dict, dropped = mmdet2_model_dict(cfg)
        worker = Mmdet2Worker(mmdet2_python, model_dict, start_state, batch, lr, momentum,
                              weight_decay, torch.get_num_threads())
        runners['mmdetection 2.28'] = worker.step

    names = list(runners)
    try:
        times = interleave(runners, num_iters, warmup, seed)
    finally:
        if worker is not None:
            worker.close()
    rows = []
    for name in names:
        totals = [t.total_s for t in times[name]]
        rows.append(dict(
            name=name, median_s=statistics.median(totals), min_s=min(totals),
            max_s=max(totals), times=totals,
            forward_s=statistics.median(t.forward_s for t in times[name]),
            backward_s=statistics.median(t.backward_s for t in times[name]),
            step_s=statistics.median(t.step_s for t in times[name]),
            cpu_s=statistics.median(t.cpu_s for t in times[name]),
            loss=statistics.median(t.loss for t in times[name])))
    ratios = {row['name']: rows[0]['median_s'] / row['median_s'] for row in rows[1:]}
    changed = {name: any(not torch.equal(p, state[k]) for k, p in m.state_dict().items()
                         if k in state and p.dtype.is_floating_point)
               for name, (m, state) in watched.items()}
    return dict(shape=(height, width), batch_size=batch_size, num_iters=num_iters,
                warmup=warmup, threads=torch.get_num_threads(), num_gts=num_gts, rows=rows,
                ratios=ratios, dropped_keys=dropped, params_changed=changed,
                training_speed=speed._asdict())


def format_train_benchmark(report: dict) -> str:
    """A plain-text table of :func:`run_train_benchmark`'s report."""
    height, width = report['shape']
    table = [['tool', 'median (s/iter)', 'min', 'max', 'forward', 'backward', 'step',
              'CPU s', 'loss', 'mmdet_lite / tool']]
    for row in report['rows']:
        ratio = report['ratios'].get(row['name'])
        table.append([row['name'], f"{row['median_s']:.3f}", f"{row['min_s']:.3f}",
                      f"{row['max_s']:.3f}", f"{row['forward_s']:.3f}",
                      f"{row['backward_s']:.3f}", f"{row['step_s']:.3f}",
                      f"{row['cpu_s']:.3f}", f"{row['loss']:.3f}",
                      '' if ratio is None else f'{ratio:.3f}'])
    lines = [f"cpu torch.get_num_threads()={report['threads']} batch={report['batch_size']}x3x"
             f"{height}x{width} gts/img={report['num_gts']} iterations={report['num_iters']} "
             f"warmup={report['warmup']} (interleaved, weights reset before each)",
             AsciiTable(table).table]
    speed = report.get('training_speed')
    if speed is not None:
        lines.append(f"mmdet_lite training_speed: {speed['folded_pairs']} (conv, BN) pairs fold "
                     f"while the BN is frozen, channels_last={speed['channels_last']}")
    if report['dropped_keys']:
        lines.append('not sent to mmdetection 2.28 (mmdet_lite-only keys): '
                     + ', '.join(report['dropped_keys']))
    return '\n'.join(lines)

"""Testing a detector as mmdetection 2.x: the test set and its dataloader
(:func:`build_test_data`), the test loops that run a detector over it and collect per-image
results (:func:`single_gpu_test`, :func:`multi_gpu_test`), and scoring those results with the
dataset's ``evaluate`` and the config's ``evaluation`` arguments (:func:`evaluate_results`).
``tools/test.py`` and the analysis tools call these; the model comes from
:func:`~mmdet_lite.apis.builder.build_detector_from_config`."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import collect_results, get_dist_info
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset

from ..core.mask.utils import encode_mask_results
from ..datasets import build_dataset
from ..engine import build_test_dataloader, dataset_evaluate_kwargs
from ..engine.runtime_keys import plain_copy
from .inference_speed import run_inference


def build_test_dataset(cfg: Config) -> Dataset:
    """``data.test`` built in test mode (no annotation filtering, no training-only steps)."""
    test_cfg = plain_copy(cfg.data.test)
    if isinstance(test_cfg, dict):
        test_cfg['test_mode'] = True
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        return build_dataset(test_cfg)


def build_test_data(cfg: Config) -> Tuple[Dataset, DataLoader]:
    """The test dataset (:func:`build_test_dataset`) and its dataloader: batch size and workers
    of ``data.test_dataloader`` (default 1 image, ``data.workers_per_gpu``), dataset order; in
    distributed runs each rank takes its share."""
    dataset = build_test_dataset(cfg)
    return dataset, build_test_dataloader(cfg, dataset)


def evaluate_results(cfg: Config, dataset: Any, results: list, metric: Union[str, Sequence[str]],
                     eval_options: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``dataset.evaluate(results, metric, ...)`` with the arguments of the config's
    ``evaluation=dict(...)`` (its hook keys dropped: ``interval``, ``save_best``, ...), updated
    by ``eval_options`` (``--eval-options``: ``classwise=True``, ``iou_thrs=[...]``, ...)."""
    eval_kwargs = dataset_evaluate_kwargs(cfg.get('evaluation'))
    eval_kwargs.update(eval_options or {})
    eval_kwargs['metric'] = metric
    return dataset.evaluate(results, **eval_kwargs)


def _unwrap(model):
    return model.module if hasattr(model, 'module') else model


def tensor2imgs(imgs: torch.Tensor, mean=(0., 0., 0.), std=(1., 1., 1.),
                to_rgb: bool = True) -> List[np.ndarray]:
    """Of a batch ``imgs`` (N, C, H, W) normalised by the pipeline: uint8 BGR (H, W, C) images."""
    out = []
    for img in imgs.detach().cpu().numpy().transpose(0, 2, 3, 1):
        img = mmcv.imdenormalize(img.astype(np.float32), np.array(mean, np.float32),
                                 np.array(std, np.float32), to_bgr=to_rgb)
        out.append(np.ascontiguousarray(img.clip(0, 255).astype(np.uint8)))
    return out


def _draw(module, data: dict, results: list, show: bool, out_dir: Optional[str],
          show_score_thr: float, palette) -> None:
    img = data['img'][0] if isinstance(data['img'], (list, tuple)) else data['img']
    metas = data['img_metas'][0] if isinstance(data['img'], (list, tuple)) else data['img_metas']
    for i, meta in enumerate(metas):
        norm = meta.get('img_norm_cfg') or {}
        img_show = tensor2imgs(img[i:i + 1], mean=norm.get('mean', (0., 0., 0.)),
                               std=norm.get('std', (1., 1., 1.)),
                               to_rgb=norm.get('to_rgb', False))[0]
        h, w = meta['img_shape'][:2]
        ori_h, ori_w = meta['ori_shape'][:2]
        img_show = mmcv.imresize(img_show[:h, :w], (ori_w, ori_h))
        out_file = None
        if out_dir:
            name = meta.get('ori_filename') or osp.basename(meta.get('filename', f'{i}.jpg'))
            out_file = osp.join(out_dir, name)
        module.show_result(img_show, results[i], score_thr=show_score_thr, show=show,
                           out_file=out_file, bbox_color=palette, text_color=palette,
                           mask_color=palette)


def _run_batch(model, data: dict) -> list:
    module = _unwrap(model)
    with torch.no_grad():
        inputs = module.data_preprocessor(data, False)
    # under the model's inference settings (autocast, channels_last fallback) when it has them
    return run_inference(module, lambda: module(return_loss=False, rescale=True, **inputs))


def _encode(result: list) -> list:
    if result and isinstance(result[0], tuple):
        return [(bbox, encode_mask_results(segm)) for bbox, segm in result]
    return result


def single_gpu_test(model, data_loader, show: bool = False, out_dir: Optional[str] = None,
                    show_score_thr: float = 0.3) -> list:
    """Results of every image of ``data_loader`` in dataset order (docs/conventions.md §3 format).

    ``show``/``out_dir`` draw each image's detections above ``show_score_thr`` with
    ``model.show_result`` (to the screen / to ``out_dir/<ori_filename>``). Masks are returned
    RLE-encoded, as in 2.x.
    """
    model.eval()
    dataset = data_loader.dataset
    palette = getattr(dataset, 'PALETTE', None)
    results: list = []
    prog_bar = ProgressBar(len(dataset))
    for data in data_loader:
        result = _run_batch(model, data)
        if show or out_dir:
            _draw(_unwrap(model), data, result, show, out_dir, show_score_thr, palette)
        results.extend(_encode(result))
        for _ in range(len(result)):
            prog_bar.update()
    return results


def multi_gpu_test(model, data_loader, tmpdir: Optional[str] = None,
                   gpu_collect: bool = False) -> Optional[list]:
    """Every rank runs its shard; rank 0 returns all results in dataset order (others None).

    The dataloader's sampler must be mmengine's ``DefaultSampler(shuffle=False)`` (each rank
    takes every ``world_size``-th sample); ``collect_results`` drops the padding samples.
    ``gpu_collect`` gathers through GPU memory (CUDA only), else through ``tmpdir`` on disk.
    """
    model.eval()
    dataset = data_loader.dataset
    rank, world_size = get_dist_info()
    results: list = []
    prog_bar = ProgressBar(len(dataset)) if rank == 0 else None
    for data in data_loader:
        result = _encode(_run_batch(model, data))
        results.extend(result)
        if prog_bar is not None:
            for _ in range(len(result) * world_size):
                prog_bar.update()
    device = 'gpu' if gpu_collect and torch.cuda.is_available() else 'cpu'
    return collect_results(results, len(dataset), device=device, tmpdir=tmpdir)

"""Inference API of mmdetection 2.x: build a detector from a config + checkpoint, run it on
images (paths or BGR arrays, one or a batch), draw the results.

Shapes: ``N`` images in a batch, ``n`` detections of one image, ``H``/``W`` its original size.
"""
import asyncio
import copy
import os.path as osp
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.config import Config
from torch import nn

from ..core.visualization import has_display, unpack_det_result
from ..datasets.collate import mmdet_collate
from ..datasets.pipelines import Compose
from .builder import build_detector_from_config
from .inference_speed import optimize_for_inference, run_inference

ImageInput = Union[str, Path, np.ndarray]
FILE_LOADER = 'LoadImageFromFile'
ARRAY_LOADER = 'LoadImageFromWebcam'


def init_detector(config: Union[str, Path, Config],
                  checkpoint: Optional[str] = None,
                  device: Optional[str] = None,
                  cfg_options: Optional[dict] = None,
                  fuse_conv_bn: bool = True,
                  channels_last: Optional[bool] = None,
                  precision: str = 'fp32',
                  force_precision: bool = False) -> nn.Module:
    """Build a detector from a config and (optionally) load a checkpoint, in eval mode, ready
    for fast inference.

    Args:
        config: Config file path or :class:`mmengine.Config` (not modified; a copy is kept
            as ``model.cfg``).
        checkpoint: Checkpoint path; None leaves the weights as built (no pretrained
            backbone is fetched either way).
        device: ``'cuda:0'`` when CUDA is available, else ``'cpu'`` (the default).
        cfg_options: Overrides merged into the config, as ``--cfg-options``.
        fuse_conv_bn: Fold eval-mode BN into the preceding convs (``state_dict()`` unchanged).
        channels_last: NHWC conv weights; None: on for CPU.
        precision: ``'fp32'``, ``'bf16'`` or ``'fp16'`` autocast where the hardware runs it
            natively (else fp32 runs, and the log says so).
        force_precision: autocast even without native support (to measure accuracy only).

    Returns:
        The detector, with ``CLASSES`` from the checkpoint's meta (COCO's 80 names and a
        warning when the checkpoint has none) and ``cfg`` set; built by
        :func:`~mmdet_lite.apis.builder.build_detector_from_config`, as ``tools/test.py``'s,
        then prepared by :func:`~mmdet_lite.apis.inference_speed.optimize_for_inference`.
    """
    model = build_detector_from_config(config, checkpoint, device=device,
                                       cfg_options=cfg_options)
    return optimize_for_inference(model, fuse_conv_bn=fuse_conv_bn, channels_last=channels_last,
                                  precision=precision, force_precision=force_precision)


def _test_pipeline_cfg(cfg: Config) -> List[dict]:
    """``cfg.data.test.pipeline`` (looking through dataset wrappers), as plain dicts."""
    data_cfg = cfg.get('data')
    test_cfg = data_cfg.get('test') if data_cfg is not None else None
    if isinstance(test_cfg, (list, tuple)):
        test_cfg = test_cfg[0] if test_cfg else None
    while test_cfg is not None and 'pipeline' not in test_cfg and 'dataset' in test_cfg:
        test_cfg = test_cfg['dataset']
    if test_cfg is None or 'pipeline' not in test_cfg:
        raise KeyError('the model config has no data.test.pipeline; inference_detector needs '
                       'the test pipeline (LoadImageFromFile, MultiScaleFlipAug, ...)')
    pipeline = [dict(step) for step in copy.deepcopy(test_cfg['pipeline'])]
    if not pipeline or pipeline[0].get('type') not in (FILE_LOADER, ARRAY_LOADER):
        first = pipeline[0].get('type') if pipeline else None
        raise ValueError(f'data.test.pipeline must start with {FILE_LOADER!r}, got {first!r}')
    return pipeline


def build_test_pipelines(cfg: Config) -> Tuple[Any, Any]:
    """The test pipeline for image files and its copy for BGR arrays (``LoadImageFromWebcam``
    instead of ``LoadImageFromFile``, as mmdetection 2.x)."""
    file_steps = _test_pipeline_cfg(cfg)
    array_steps = copy.deepcopy(file_steps)
    file_steps[0]['type'] = FILE_LOADER
    array_steps[0]['type'] = ARRAY_LOADER
    return Compose(file_steps), Compose(array_steps)


def _prepare_one(img: ImageInput, file_pipeline: Any, array_pipeline: Any) -> dict:
    if isinstance(img, (str, Path)):
        path = str(img)
        if not osp.isfile(path):
            raise FileNotFoundError(f'image file {path!r} does not exist')
        return file_pipeline(dict(img_info=dict(filename=path), img_prefix=None))
    if isinstance(img, np.ndarray):
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'an image array must be BGR (H, W, 3), got shape {img.shape}')
        return array_pipeline(dict(img=img))
    raise TypeError(f'an image must be a file path or a BGR ndarray (H, W, 3), got '
                    f'{type(img).__name__}')


def inference_detector(model: nn.Module, imgs: Union[ImageInput, Sequence[ImageInput]],
                       batch_size: Optional[int] = None) -> Any:
    """Detect objects in one image or a list of images.

    Args:
        model: A detector from :func:`init_detector` (it needs ``model.cfg``).
        imgs: An image path, a BGR ndarray (H, W, 3), or a list/tuple mixing both.
        batch_size: Images per forward pass; None runs the whole list as one batch.

    Returns:
        For one image its result (docs/conventions.md §3: ``bbox_results`` or
        ``(bbox_results, segm_results)``, at the original image size); for a list, a list of
        results in the same order.
    """
    if not hasattr(model, 'cfg'):
        raise AttributeError('the model has no `cfg`; build it with init_detector(config, '
                             'checkpoint) or set model.cfg = Config(...)')
    is_batch = isinstance(imgs, (list, tuple))
    images = list(imgs) if is_batch else [imgs]
    if not images:
        return []
    file_pipeline, array_pipeline = build_test_pipelines(model.cfg)
    step = batch_size or len(images)
    if step < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')

    results: List[Any] = []
    for start in range(0, len(images), step):
        samples = [_prepare_one(img, file_pipeline, array_pipeline)
                   for img in images[start:start + step]]
        img0 = samples[0]['img']
        # test-time augmentation (several views per image) runs one image per forward
        groups = ([[s] for s in samples] if isinstance(img0, (list, tuple)) and len(img0) > 1
                  else [samples])
        for group in groups:
            data = model.data_preprocessor(mmdet_collate(group), False)
            results.extend(run_inference(model, lambda: model(
                img=data['img'], img_metas=data['img_metas'], return_loss=False, rescale=True)))
    return results if is_batch else results[0]


async def async_inference_detector(model: nn.Module,
                                   imgs: Union[ImageInput, Sequence[ImageInput]]) -> Any:
    """:func:`inference_detector` run in the event loop's default executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, inference_detector, model, imgs)


def _display_available() -> bool:
    """True when matplotlib can open a window (an interactive backend and a display)."""
    import matplotlib
    backend = matplotlib.get_backend().lower()
    try:  # matplotlib >= 3.9
        from matplotlib.backends import BackendFilter, backend_registry
        names = backend_registry.list_builtin(BackendFilter.INTERACTIVE)
    except ImportError:
        names = matplotlib.rcsetup.interactive_bk
    interactive = {name.lower() for name in names}
    return backend in interactive and has_display()


def show_result_pyplot(model: nn.Module,
                       img: ImageInput,
                       result: Any,
                       score_thr: float = 0.3,
                       title: str = 'result',
                       wait_time: float = 0,
                       palette: Any = None,
                       out_file: Optional[str] = None,
                       show: Optional[bool] = None) -> np.ndarray:
    """Draw ``result`` on ``img``; save it to ``out_file`` and/or show it with matplotlib.

    Headless by default: ``show=None`` shows the figure only when matplotlib has an
    interactive backend and a display; ``show=True`` insists (and fails without a display).
    ``wait_time`` > 0 closes the window after that many seconds. Returns the drawn BGR image.
    """
    if hasattr(model, 'module'):
        model = model.module
    drawn = model.show_result(str(img) if isinstance(img, Path) else img, result,
                              score_thr=score_thr, show=False, bbox_color=palette,
                              text_color=(200, 200, 200), mask_color=palette,
                              out_file=out_file)
    if show is None:
        show = _display_available()
    if show:
        if not _display_available():
            raise RuntimeError('show=True needs a display and an interactive matplotlib '
                               'backend; on a headless machine pass out_file=... instead')
        import matplotlib.pyplot as plt
        fig = plt.figure(title)
        plt.imshow(drawn[:, :, ::-1])
        plt.title(title)
        plt.axis('off')
        if wait_time > 0:
            plt.show(block=False)
            plt.pause(wait_time)
        else:
            plt.show()
        plt.close(fig)
    return drawn


def result_to_dict(result: Any, img_shape: Optional[Tuple[int, ...]] = None
                   ) -> Dict[str, Optional[np.ndarray]]:
    """One image's result (docs/conventions.md §3) as a dict of arrays.

    Returns:
        ``bboxes`` float32 (n, 4) xyxy, ``scores`` float32 (n,), ``labels`` int64 (n,) and
        ``masks`` bool (n, H, W), or None for a model without masks. With masks but no
        detection, ``masks`` is (0, H, W) when ``img_shape`` (H, W[, C]) is given, else
        (0, 0, 0). For a list of results use ``[result_to_dict(r) for r in results]``.
    """
    bboxes, labels, masks = unpack_det_result(result)
    if masks is not None and len(masks) == 0 and img_shape is not None:
        masks = np.zeros((0, int(img_shape[0]), int(img_shape[1])), dtype=bool)
    return dict(bboxes=bboxes[:, :4].copy(), scores=bboxes[:, 4].copy(), labels=labels,
                masks=masks)

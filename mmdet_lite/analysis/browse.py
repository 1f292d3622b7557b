"""Draw a dataset's ground truth as the model sees it: after the training pipeline."""
import copy
import os.path as osp
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.utils import ProgressBar

from ..core.visualization import imshow_det_bboxes

DEFAULT_SKIP_TYPES = ('DefaultFormatBundle', 'Normalize', 'Collect')


def retrieve_train_data_cfg(cfg: Config, skip_type: Sequence[str] = DEFAULT_SKIP_TYPES
                            ) -> Config:
    """A copy of ``cfg`` whose ``data.train`` pipeline(s) drop the ``skip_type`` steps.

    Dataset wrappers (``RepeatDataset``, ``ConcatDataset`` lists ...) are looked through.
    """
    cfg = copy.deepcopy(cfg)
    if cfg.get('data') is None or cfg.data.get('train') is None:
        raise KeyError(f'config {cfg.filename!r} has no data.train to browse')

    def strip(dataset_cfg: Any) -> None:
        if isinstance(dataset_cfg, (list, tuple)):
            for item in dataset_cfg:
                strip(item)
        elif 'pipeline' in dataset_cfg:
            dataset_cfg['pipeline'] = [step for step in dataset_cfg['pipeline']
                                       if step['type'] not in skip_type]
        elif 'dataset' in dataset_cfg or 'datasets' in dataset_cfg:
            strip(dataset_cfg.get('dataset', dataset_cfg.get('datasets')))
        else:
            raise KeyError('data.train has neither a pipeline nor a wrapped dataset')

    strip(cfg.data.train)
    return cfg


def _image_of(item: dict) -> np.ndarray:
    """The BGR uint8 image (H, W, 3) of a pipeline output, undoing ToTensor/Normalize."""
    img = item['img']
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
        if img.ndim == 3 and img.shape[0] in (1, 3):
            img = img.transpose(1, 2, 0)
    img = np.asarray(img)
    meta = item.get('img_metas') or item
    norm = meta.get('img_norm_cfg') if isinstance(meta, dict) else None
    if img.dtype != np.uint8 and norm is not None:
        # Normalize ran (it records img_norm_cfg): map back to pixel values.
        mean = np.asarray(norm['mean'], dtype=np.float32)
        std = np.asarray(norm['std'], dtype=np.float32)
        img = mmcv.imdenormalize(img.astype(np.float32), mean, std,
                                 to_bgr=bool(norm.get('to_rgb', False)))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _array(x: Any, dtype: Any, shape_tail: Tuple[int, ...]) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype).reshape((-1, ) + shape_tail)


def gt_of_sample(item: dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """``(img BGR (H, W, 3), gt_bboxes (k, 4), gt_labels (k,), gt_masks (k, H, W) or None)``
    of one training-pipeline output (before or after ``DefaultFormatBundle``/``Collect``)."""
    img = _image_of(item)
    bboxes = _array(item.get('gt_bboxes', np.zeros((0, 4))), np.float32, (4, ))
    labels = _array(item.get('gt_labels', np.zeros(0)), np.int64, ())
    masks = item.get('gt_masks')
    if masks is not None:
        masks = masks.to_ndarray() if hasattr(masks, 'to_ndarray') else _array(
            masks, np.uint8, tuple(np.asarray(masks).shape[1:]))
        masks = masks.astype(bool)
        if masks.shape[1:] != img.shape[:2]:
            raise ValueError(f'gt_masks are {masks.shape[1:]} but the image is '
                             f'{img.shape[:2]}; the pipeline must pad masks with the image')
    return img, bboxes, labels, masks


def _filename_of(item: dict, index: int) -> str:
    meta = item.get('img_metas') if isinstance(item.get('img_metas'), dict) else item
    filename = meta.get('ori_filename') or meta.get('filename')
    return Path(filename).name if filename else f'{index:06d}.png'


def browse_dataset(dataset: Any, output_dir: Optional[str] = None, show: bool = False,
                   show_interval: float = 2) -> List[str]:
    """Draw the ground truth of every sample of ``dataset`` (one file per image in
    ``output_dir``, named after the image; and/or shown in a window). Returns the files."""
    class_names = tuple(dataset.CLASSES)
    palette = getattr(dataset, 'PALETTE', None)
    written: List[str] = []
    progress = ProgressBar(len(dataset))
    for index in range(len(dataset)):
        item = dataset[index]
        img, bboxes, labels, masks = gt_of_sample(item)
        out_file = (osp.join(output_dir, _filename_of(item, index))
                    if output_dir is not None else None)
        imshow_det_bboxes(img, bboxes, labels, masks, class_names=class_names,
                          bbox_color=palette, text_color=(200, 200, 200), mask_color=palette,
                          show=show, wait_time=int(show_interval * 1000), out_file=out_file)
        if out_file is not None:
            written.append(out_file)
        progress.update()
    return written

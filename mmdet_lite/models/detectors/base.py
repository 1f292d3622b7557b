"""BaseDetector: the mmdetection 2.x detector contract on an ``mmengine.model.BaseModel``.

Shapes: ``N`` images per batch, ``C`` channels, ``H``/``W`` the padded batch size.
"""
import copy
import warnings
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import BaseDataPreprocessor, BaseModel

Tensor = torch.Tensor


def backbone_cfg_with_pretrained(backbone: dict, pretrained: Optional[str]) -> dict:
    """A deep copy of the ``backbone`` config; a (deprecated) ``pretrained`` checkpoint path
    becomes its ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``, with a warning."""
    backbone = copy.deepcopy(backbone)
    if pretrained:
        warnings.warn('DeprecationWarning: pretrained is deprecated, use '
                      "backbone.init_cfg=dict(type='Pretrained', checkpoint=...)")
        backbone['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained)
    return backbone


class BaseDetector(BaseModel, metaclass=ABCMeta):
    """Base class of detectors.

    ``forward(img, img_metas, return_loss=True, **kwargs)`` (mmdetection 2.x) and mmengine's
    ``forward(..., mode='loss'|'predict'|'tensor')`` both dispatch to :meth:`forward_train`,
    :meth:`forward_test` (→ :meth:`simple_test` / :meth:`aug_test`) or :meth:`extract_feat`.
    The data preprocessor only moves the batch to the model's device: normalisation and padding
    are pipeline transforms, as in 2.x.
    """

    CLASSES: Optional[Sequence[str]] = None

    def __init__(self, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=BaseDataPreprocessor(), init_cfg=init_cfg)
        self.fp16_enabled = False

    @property
    def with_neck(self) -> bool:
        return getattr(self, 'neck', None) is not None

    @property
    def with_shared_head(self) -> bool:
        return getattr(self, 'roi_head', None) is not None and self.roi_head.with_shared_head

    @property
    def with_bbox(self) -> bool:
        return ((getattr(self, 'roi_head', None) is not None and self.roi_head.with_bbox)
                or getattr(self, 'bbox_head', None) is not None)

    @property
    def with_mask(self) -> bool:
        return ((getattr(self, 'roi_head', None) is not None and self.roi_head.with_mask)
                or getattr(self, 'mask_head', None) is not None)

    @abstractmethod
    def extract_feat(self, img: Tensor) -> Union[Tensor, Sequence[Tensor]]:
        """Features of a batch ``img`` (N, C, H, W)."""

    def extract_feats(self, imgs: List[Tensor]) -> List:
        """Features of each augmented batch in ``imgs``."""
        return [self.extract_feat(img) for img in imgs]

    def forward_train(self, img: Tensor, img_metas: List[dict], **kwargs) -> Dict[str, Tensor]:
        """Record ``batch_input_shape`` (H, W) in every meta; subclasses compute the losses."""
        batch_input_shape = tuple(img.shape[-2:])
        for img_meta in img_metas:
            img_meta['batch_input_shape'] = batch_input_shape
        return {}

    @abstractmethod
    def simple_test(self, img: Tensor, img_metas: List[dict], **kwargs) -> list:
        """Results of one un-augmented batch, one entry per image (design §3.3)."""

    @abstractmethod
    def aug_test(self, imgs: List[Tensor], img_metas: List[List[dict]], **kwargs) -> list:
        """Results of test-time augmentation, one entry per image (design §3.3)."""

    def forward_test(self, imgs: Union[Tensor, List[Tensor]],
                     img_metas: Union[List[dict], List[List[dict]]], **kwargs) -> list:
        """``imgs`` lists one batch (N, C, H, W) per augmentation; one aug → :meth:`simple_test`."""
        if isinstance(imgs, Tensor):
            imgs, img_metas = [imgs], [img_metas]
        if not isinstance(imgs, (list, tuple)):
            raise TypeError(f'imgs must be a Tensor or a list of Tensors, not {type(imgs)}')
        if len(imgs) != len(img_metas):
            raise ValueError(f'{len(imgs)} augmented batches but {len(img_metas)} img_metas '
                             'lists; they must pair up')
        for aug_img, aug_metas in zip(imgs, img_metas):
            batch_input_shape = tuple(aug_img.shape[-2:])
            for img_meta in aug_metas:
                img_meta['batch_input_shape'] = batch_input_shape
        kwargs.setdefault('rescale', True)
        if len(imgs) == 1:
            if 'proposals' in kwargs and kwargs['proposals'] is not None:
                kwargs['proposals'] = kwargs['proposals'][0]
            return self.simple_test(imgs[0], img_metas[0], **kwargs)
        if imgs[0].size(0) != 1:
            raise ValueError('aug_test takes one image per batch (samples_per_gpu=1), '
                             f'got {imgs[0].size(0)}; set data.test_dataloader samples_per_gpu=1')
        kwargs.pop('proposals', None)
        return self.aug_test(imgs, img_metas, **kwargs)

    def forward(self, img: Union[Tensor, List[Tensor], None] = None,
                img_metas: Optional[list] = None, return_loss: bool = True,
                mode: Optional[str] = None, **kwargs):
        """2.x ``return_loss`` or mmengine ``mode`` ('loss', 'predict', 'tensor')."""
        if mode is None:
            mode = 'loss' if return_loss else 'predict'
        if mode == 'loss':
            return self.forward_train(img, img_metas, **kwargs)
        if mode == 'predict':
            kwargs = {k: v for k, v in kwargs.items() if not k.startswith('gt_')}
            return self.forward_test(img, img_metas, **kwargs)
        if mode == 'tensor':
            return self.extract_feat(img[0] if isinstance(img, (list, tuple)) else img)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def show_result(self, img: Union[str, np.ndarray], result, score_thr: float = 0.3,
                    out_file: Optional[str] = None, **kwargs) -> np.ndarray:
        """Draw ``result`` (design §3.3 format) on ``img``; see ``core.visualization``."""
        from ...core.visualization import imshow_det_result
        return imshow_det_result(img, result, class_names=self.CLASSES, score_thr=score_thr,
                                 out_file=out_file, **kwargs)

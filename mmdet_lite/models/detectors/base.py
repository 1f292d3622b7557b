"""BaseDetector: the mmdetection 2.x detector contract on an ``mmengine.model.BaseModel``.

Shapes: ``N`` images per batch, ``C`` channels, ``H``/``W`` the padded batch size, ``L`` feature
levels.
"""
import copy
import warnings
from abc import ABCMeta, abstractmethod
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import all_reduce
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import nn

from ...core.visualization import imshow_det_result
from ..builder import build_backbone, build_head, build_neck
from ..utils.memory_format import run_with_nchw_fallback
from ...core.utils.config import as_config

Tensor = torch.Tensor


class BaseDetector(BaseModel, metaclass=ABCMeta):
    """Base class of detectors.

    ``forward(img, img_metas, return_loss=True, **kwargs)`` (mmdetection 2.x) and mmengine's
    ``forward(..., mode='loss'|'predict'|'tensor')`` both dispatch to :meth:`forward_train`,
    :meth:`forward_test` (→ :meth:`simple_test` / :meth:`aug_test`) or :meth:`extract_feat`.
    The data preprocessor only moves the batch to the model's device: normalisation and padding
    are pipeline transforms, as in 2.x.

    The base owns what every detector shares, so that a subclass only adds its heads:

    * ``backbone`` and the optional ``neck`` are built here (in that order: state-dict keys
      start ``backbone.``, ``neck.``) and :meth:`extract_feat` runs them;
    * ``train_cfg`` / ``test_cfg`` are stored as private ``ConfigDict`` copies
      (``models/utils/config.as_config``); a subclass hands its heads their part of them with
      :meth:`build_head_with_cfgs`;
    * the deprecated ``pretrained`` path warns as 2.x did and becomes the backbone's
      ``pretrained`` argument (which the backbone turns into
      ``init_cfg=dict(type='Pretrained', checkpoint=...)``).

    Args:
        init_cfg: weight init config of the detector (positional, as 2.x's
            ``BaseDetector.__init__(init_cfg)``).
        backbone / neck: module configs; a detector built without a backbone (2.x-style
            subclasses that build their own) sets ``self.backbone`` itself.
        train_cfg / test_cfg: the detector's training / test configs.
        pretrained: deprecated; use ``backbone.init_cfg=dict(type='Pretrained', ...)``.
    """

    CLASSES: Optional[Sequence[str]] = None

    def __init__(self, init_cfg: Optional[Union[dict, List[dict]]] = None, *,
                 backbone: Optional[dict] = None, neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None):
        super().__init__(data_preprocessor=BaseDataPreprocessor(), init_cfg=init_cfg)
        self.fp16_enabled = False
        if backbone is not None:
            backbone = copy.deepcopy(dict(backbone))
            if pretrained:
                warnings.warn('DeprecationWarning: pretrained is deprecated, please use '
                              '"init_cfg" instead')
                backbone['pretrained'] = pretrained
            self.backbone = build_backbone(backbone)
        elif pretrained:
            raise ValueError(f'{type(self).__name__} got pretrained={pretrained!r} but no '
                             "backbone config; set backbone.init_cfg=dict(type='Pretrained', "
                             'checkpoint=...) instead')
        if neck is not None:
            # a list of necks (Libra R-CNN's FPN + BFP) is chained, as 2.x
            self.neck = build_neck(copy.deepcopy(
                [dict(n) for n in neck] if isinstance(neck, (list, tuple)) else dict(neck)))
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)

    def build_head_with_cfgs(self, head: dict, cfg_key: Optional[str] = None) -> nn.Module:
        """Build a copy of the ``head`` config whose ``train_cfg`` / ``test_cfg`` are the
        detector's (``cfg_key=None``, single-stage heads) or their ``cfg_key`` parts (2.x's
        ``'rpn'``, ``'rcnn'``); None where missing. The caller's dicts are never changed and the
        head keeps its own copies."""
        head = copy.deepcopy(dict(head))
        train_cfg, test_cfg = self.train_cfg, self.test_cfg
        if cfg_key is not None:
            train_cfg = train_cfg.get(cfg_key) if train_cfg is not None else None
            test_cfg = test_cfg.get(cfg_key) if test_cfg is not None else None
        head.update(train_cfg=train_cfg, test_cfg=test_cfg)
        return build_head(head)

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

    def extract_feat(self, img: Tensor) -> Union[Tensor, Sequence[Tensor]]:
        """Features of a batch ``img`` (N, C, H, W): the backbone's levels, through the neck if
        there is one (L tensors (N, C_l, H_l, W_l))."""
        x = self.backbone(img)
        if self.with_neck:
            x = self.neck(x)
        return x

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
        """Results of one un-augmented batch, one entry per image (docs/conventions.md §3)."""

    @abstractmethod
    def aug_test(self, imgs: List[Tensor], img_metas: List[List[dict]], **kwargs) -> list:
        """Results of test-time augmentation, one entry per image (docs/conventions.md §3)."""

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
        """2.x ``return_loss`` or mmengine ``mode`` ('loss', 'predict', 'tensor'); with NHWC
        conv weights, a ``.view`` that NHWC feature maps forbid switches the model to NCHW
        and reruns (:func:`~mmdet_lite.models.utils.memory_format.run_with_nchw_fallback`)."""
        if mode is None:
            mode = 'loss' if return_loss else 'predict'
        return run_with_nchw_fallback(self, lambda: self._forward_mode(img, img_metas, mode,
                                                                        **kwargs))

    def _forward_mode(self, img: Union[Tensor, List[Tensor], None], img_metas: Optional[list],
                      mode: str, **kwargs):
        if mode == 'loss':
            return self.forward_train(img, img_metas, **kwargs)
        if mode == 'predict':
            kwargs = {k: v for k, v in kwargs.items() if not k.startswith('gt_')}
            return self.forward_test(img, img_metas, **kwargs)
        if mode == 'tensor':
            return self.extract_feat(img[0] if isinstance(img, (list, tuple)) else img)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def _parse_losses(self, losses: Dict[str, Union[Tensor, List[Tensor]]]
                      ) -> Tuple[Tensor, Dict[str, float]]:
        """mmdetection 2.x's ``(loss, log_vars)`` of a ``forward_train`` loss dict.

        ``loss`` is mmengine's :meth:`parse_losses` total (the sum of the means of the keys
        containing 'loss'; what ``train_step`` back-propagates). ``log_vars`` maps every key,
        then ``'loss'`` last, to a float averaged over ranks when distributed, as 2.x logged it.
        """
        loss, tensors = self.parse_losses(losses)
        log_vars: Dict[str, float] = OrderedDict()
        for name, value in list(tensors.items())[1:] + [('loss', loss)]:
            value = value.detach().clone()
            all_reduce(value, op='mean')
            log_vars[name] = value.item()
        return loss, log_vars

    def show_result(self, img: Union[str, np.ndarray], result, score_thr: float = 0.3,
                    out_file: Optional[str] = None, **kwargs) -> np.ndarray:
        """Draw ``result`` (docs/conventions.md §3 format) on ``img``; see ``core.visualization``."""
        return imshow_det_result(img, result, class_names=self.CLASSES, score_thr=score_thr,
                                 out_file=out_file, **kwargs)

"""BackendDetector: a detector whose network runs in an inference engine (ONNX Runtime,
OpenVINO) on a graph exported by ``tools/deployment/pytorch2onnx.py``.

It is a :class:`~mmdet_lite.models.detectors.base.BaseDetector` without parameters, so that
everything that runs a PyTorch detector runs it unchanged: ``single_gpu_test`` (and so
``tools/deployment/test.py``), ``inference_detector`` (it keeps the config as ``cfg``) and
``show_result``. Only the network moves to the engine; the rest is mmdet 2.x's test path:

* before the graph: the config's test pipeline and collate (the dataloader or
  ``inference_detector`` run them), then, for a graph exported with a static shape, zero padding
  of the batch up to that shape (the value the ``Pad`` transform pads with);
* after the graph (the contract of :mod:`~mmdet_lite.deployment.onnx_contract`): padding rows
  dropped, boxes clipped to the image's ``img_shape`` and divided by its ``scale_factor``
  (``rescale=True``), ``bbox2result``; masks pasted into the original image by the config's own
  mask head (its ``get_seg_masks``: the same paste function and ``mask_thr_binary`` as the
  PyTorch model).

Shapes: ``N`` images, ``H, W`` the padded batch, ``K`` graph output rows per image, ``n`` real
detections of an image, ``M`` the mask RoI size.
"""
import copy
from abc import abstractmethod
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import Tensor

from ..core import bbox2result
from ..core.bbox.scale_factor import scale_factor_tensor
from ..models import build_head
from ..models.detectors.base import BaseDetector
from .onnx_contract import OnnxMetadata, split_outputs

INSTALL_HINT = 'pip install -e ".[deploy]"'


def model_test_cfg(cfg: Config) -> Optional[dict]:
    """``model.test_cfg`` of a config, or the top-level ``test_cfg`` of old 2.x configs."""
    test_cfg = cfg.model.get('test_cfg')
    if test_cfg is None:
        test_cfg = cfg.get('test_cfg')
    return test_cfg


def build_mask_paster(cfg: Config) -> Tuple[Any, Optional[dict]]:
    """The config's mask head, built class-agnostic and without weights, and its
    ``test_cfg.rcnn``: its ``get_seg_masks`` pastes the graph's per-box probabilities (the row's
    class already selected, hence class-agnostic) exactly as the PyTorch model pastes its own.

    Raises:
        KeyError: the config has no ``model.roi_head.mask_head``.
    """
    roi_head = cfg.model.get('roi_head')
    mask_head = roi_head.get('mask_head') if roi_head is not None else None
    if mask_head is None:
        raise KeyError(f'the graph has masks but config {cfg.filename!r} has no '
                       'model.roi_head.mask_head to paste them with; pass the config the '
                       'graph was exported from')
    if isinstance(mask_head, (list, tuple)):  # cascade: the last stage's head pastes
        mask_head = mask_head[-1]
    mask_head = copy.deepcopy(dict(mask_head))
    mask_head['class_agnostic'] = True
    mask_head.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        paster = build_head(mask_head)
    test_cfg = model_test_cfg(cfg)
    rcnn_cfg = test_cfg.get('rcnn') if test_cfg is not None else None
    return paster.eval(), rcnn_cfg


def pad_to_static(img: np.ndarray, input_shape: Sequence[int], model_file: str) -> np.ndarray:
    """A batch (n, 3, H, W) zero-padded at the bottom/right to a static graph's (H0, W0).

    Raises:
        ValueError: the batch is larger than the graph's input.
    """
    height, width = int(input_shape[2]), int(input_shape[3])
    if img.shape[2] > height or img.shape[3] > width:
        raise ValueError(f'{model_file} was exported for input (H, W) = ({height}, {width}) '
                         f'but the test pipeline makes {tuple(img.shape[2:])}; re-export with '
                         '--dynamic-export or with --shape covering the pipeline\'s largest '
                         'padded image')
    if img.shape[2:] == (height, width):
        return img
    out = np.zeros((img.shape[0], img.shape[1], height, width), dtype=img.dtype)
    out[:, :, :img.shape[2], :img.shape[3]] = img
    return out


class BackendDetector(BaseDetector):
    """Runs an exported graph in an inference engine; mmdet 2.x's test interface and results.

    Args:
        model_file: the ``.onnx`` file (or the engine's own format, for a subclass that reads
            one).
        cfg: the config the graph was exported from (its test pipeline and mask head are used).
        metadata: the graph's :class:`~mmdet_lite.deployment.onnx_contract.OnnxMetadata`.
        class_names: ``CLASSES`` when the graph's metadata has none (e.g. the test dataset's).
    """

    backend = ''

    def __init__(self, model_file: str, cfg: Config, metadata: OnnxMetadata,
                 class_names: Optional[Sequence[str]] = None):
        super().__init__()
        self.model_file = model_file
        self.cfg = cfg
        self.metadata = metadata
        classes = tuple(metadata.classes) or (tuple(class_names) if class_names else ())
        if len(classes) != metadata.num_classes:
            raise ValueError(f'{model_file} predicts {metadata.num_classes} classes but the '
                             f'class names are {len(classes)} ({classes[:5]}...); pass '
                             'class_names= with one name per class (the test dataset\'s)')
        self.CLASSES = classes
        if metadata.with_masks:
            self.mask_paster, self.rcnn_test_cfg = build_mask_paster(cfg)
        else:
            self.mask_paster, self.rcnn_test_cfg = None, None
        self.batch_size = None if metadata.dynamic else int(metadata.input_shape[0])

    @abstractmethod
    def forward_graph(self, img: np.ndarray) -> List[np.ndarray]:
        """The graph's outputs (``dets, labels[, masks]``, contract order) of a batch ``img``
        float32 (N, 3, H, W) of the shape the graph accepts."""

    def run_graph(self, img: np.ndarray) -> List[np.ndarray]:
        """:meth:`forward_graph` of any batch: a static graph gets chunks of its batch size,
        padded to its input shape; outputs are concatenated over images."""
        img = np.ascontiguousarray(img, dtype=np.float32)
        if self.batch_size is None:
            return self.forward_graph(img)
        img = pad_to_static(img, self.metadata.input_shape, self.model_file)
        step, num = self.batch_size, img.shape[0]
        chunks = []
        for start in range(0, num, step):
            chunk = img[start:start + step]
            real = chunk.shape[0]
            if real < step:
                chunk = np.concatenate([chunk, np.zeros((step - real, ) + chunk.shape[1:],
                                                        np.float32)])
            chunks.append([out[:real] for out in self.forward_graph(chunk)])
        return [np.concatenate(parts) for parts in zip(*chunks)]

    def extract_feat(self, img: Tensor):
        raise NotImplementedError(f'{type(self).__name__} runs the whole exported graph; '
                                  'it has no feature maps (use the PyTorch model)')

    def simple_test(self, img: Tensor, img_metas: List[dict], proposals=None,
                    rescale: bool = True) -> list:
        """Per image ``bbox_results`` (list over classes of (n_c, 5) float32), or
        ``(bbox_results, segm_results)`` for a graph with masks (``segm_results[c]``: a list of
        (H, W) bool masks), at the original image size when ``rescale``."""
        if proposals is not None:
            raise ValueError('an exported detector computes its own proposals; '
                             'proposals= is not supported')
        outputs = self.run_graph(img.detach().cpu().numpy())
        return [self.image_result(dets, labels, masks, meta, rescale)
                for (dets, labels, masks), meta in zip(split_outputs(outputs, self.metadata),
                                                       img_metas)]

    def aug_test(self, imgs: List[Tensor], img_metas: List[List[dict]], rescale: bool = True):
        raise NotImplementedError(
            f'{type(self).__name__}: test-time augmentation is not exported (the graph runs '
            'one view); use a test pipeline whose MultiScaleFlipAug has one scale and '
            'flip=False')

    def image_result(self, dets: np.ndarray, labels: np.ndarray, masks: Optional[np.ndarray],
                     img_meta: dict, rescale: bool) -> Any:
        """Of one image: 2.x results from its real rows ``dets`` (n, 5) in the network input
        frame, ``labels`` (n,) and ``masks`` (n, M, M) probabilities (or None)."""
        num_classes = self.metadata.num_classes
        det_bboxes = torch.from_numpy(np.array(dets, dtype=np.float32, copy=True))
        det_labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        img_h, img_w = img_meta['img_shape'][:2]
        det_bboxes[:, 0:4:2] = det_bboxes[:, 0:4:2].clamp(0, img_w)
        det_bboxes[:, 1:4:2] = det_bboxes[:, 1:4:2].clamp(0, img_h)
        net_bboxes = det_bboxes
        if rescale:
            det_bboxes = det_bboxes.clone()
            det_bboxes[:, :4] /= scale_factor_tensor(img_meta['scale_factor'], det_bboxes)
        bbox_results = bbox2result(det_bboxes, det_labels, num_classes)
        if masks is None:
            return bbox_results
        if len(det_labels) == 0:
            return bbox_results, [[] for _ in range(num_classes)]
        segm_results = self.mask_paster.get_seg_masks(
            np.asarray(masks, dtype=np.float32)[:, None], net_bboxes, det_labels,
            self.rcnn_test_cfg, img_meta['ori_shape'], img_meta['scale_factor'], rescale)
        return bbox_results, segm_results

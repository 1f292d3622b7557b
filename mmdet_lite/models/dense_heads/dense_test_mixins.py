"""Test-time helpers of dense heads: plain test, flip/scale TTA merging, RPN proposals (mmdet 2.x).

Shape shorthand: ``N`` images, ``T`` augmentations, ``n`` detections, ``L`` levels.
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from ...core import bbox_mapping_back, merge_aug_proposals
from ...core.bbox.scale_factor import scale_factor_tensor
from ..utils.results import DenseCandidates, Detections


class BBoxTestMixin:
    """``simple_test_bboxes``, ``aug_test_bboxes``, ``simple_test_rpn``, ``aug_test_rpn``."""

    def simple_test_bboxes(self, feats: Sequence[Tensor], img_metas: List[dict],
                           rescale: bool = False) -> List[Detections]:
        """Per image ``Detections(det_bboxes (n, 5), det_labels (n,))`` of features
        L x (N, C, H_l, W_l)."""
        outs = self.forward(feats)
        return self.get_bboxes(*outs, img_metas=img_metas, rescale=rescale)

    def aug_test_bboxes(self, feats: List[Sequence[Tensor]], img_metas: List[List[dict]],
                        rescale: bool = False) -> List[Detections]:
        """Merge the detections of T augmented views (flip / scale) of one image.

        Each view's candidates (before NMS) are mapped back to the original-image frame
        (``bbox_mapping_back``), concatenated, and a single class-aware NMS keeps
        ``max_per_img`` (``_nms_detections``, as for one view). ``feats[t]`` are the features
        of view ``t`` (batch of one image) and ``img_metas[t]`` its one-element meta list.

        Returns:
            A one-element list ``[Detections(det_bboxes (n, 5), det_labels (n,))]``; boxes in
            the original image frame when ``rescale`` else in the first view's scale.
        """
        if len(feats) != len(img_metas):
            raise ValueError(f'{len(feats)} augmented feature sets but {len(img_metas)} meta '
                             'lists; give one per augmentation')
        aug_bboxes, aug_scores, aug_labels = [], [], []
        for x, img_meta in zip(feats, img_metas):
            if len(img_meta) != 1:
                raise ValueError('aug_test merges one image at a time (samples_per_gpu=1), got '
                                 f'{len(img_meta)} images per augmentation')
            outs = self.forward(x)
            # DenseCandidates, or a 2.x subclass's plain (bboxes, scores, labels) tuple.
            bboxes, scores, labels = self.get_bboxes(*outs, img_metas=img_meta,
                                                     cfg=self.test_cfg, rescale=False,
                                                     with_nms=False)[0]
            aug_bboxes.append(bboxes)
            aug_scores.append(scores)
            aug_labels.append(labels)
        merged_bboxes, merged_scores = self.merge_aug_bboxes(aug_bboxes, aug_scores, img_metas)
        merged = DenseCandidates(merged_bboxes, merged_scores, torch.cat(aug_labels, dim=0))
        det_bboxes, det_labels = self._nms_detections(merged, self.test_cfg)
        if not rescale:
            det_bboxes = det_bboxes.clone()
            det_bboxes[:, :4] *= scale_factor_tensor(img_metas[0][0]['scale_factor'], det_bboxes)
        return [Detections(det_bboxes, det_labels)]

    def merge_aug_bboxes(self, aug_bboxes: List[Tensor], aug_scores: List[Tensor],
                         img_metas: List[List[dict]]) -> Tuple[Tensor, Tensor]:
        """Map each view's boxes (k_t, 4) back to the original image; concatenate with scores."""
        recovered = []
        for bboxes, img_info in zip(aug_bboxes, img_metas):
            meta = img_info[0]
            recovered.append(bbox_mapping_back(bboxes, meta['img_shape'], meta['scale_factor'],
                                               meta['flip'], meta.get('flip_direction',
                                                                      'horizontal')))
        return torch.cat(recovered, dim=0), torch.cat(aug_scores, dim=0)

    def simple_test_rpn(self, x: Sequence[Tensor], img_metas: List[dict]) -> List[Tensor]:
        """Per image proposals (n, 5) ``[x1, y1, x2, y2, score]`` at the network input scale."""
        rpn_outs = self(x)
        return self.get_bboxes(*rpn_outs, img_metas=img_metas)

    def aug_test_rpn(self, feats: List[Sequence[Tensor]],
                     img_metas: List[List[dict]]) -> List[Tensor]:
        """Per image proposals (n, 5) merged over T views, in the original image frame."""
        samples_per_gpu = len(img_metas[0])
        aug_proposals = [[] for _ in range(samples_per_gpu)]
        for x, img_meta in zip(feats, img_metas):
            for i, proposals in enumerate(self.simple_test_rpn(x, img_meta)):
                aug_proposals[i].append(proposals)
        merged = []
        for i in range(samples_per_gpu):
            aug_img_meta = [img_metas[t][i] for t in range(len(img_metas))]
            merged.append(merge_aug_proposals(aug_proposals[i], aug_img_meta, self.test_cfg))
        return merged

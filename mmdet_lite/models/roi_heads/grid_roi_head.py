"""GridRoIHead: Grid R-CNN's second stage (Lu et al., arXiv:1811.12030): a
:class:`StandardRoIHead` whose box head only classifies (``with_reg=False``) and whose boxes are
then localised by a :class:`GridHead` on the detections.

Shapes: ``N`` images, ``P`` positive RoIs, ``n_i`` detections of image i, ``C`` classes.
"""
from typing import List, Optional

import numpy as np
import torch

from ...core import bbox2result, bbox2roi
from ...core.bbox.scale_factor import scale_factor_tensor
from ..builder import HEADS, build_head, build_roi_extractor
from .standard_roi_head import StandardRoIHead

Tensor = torch.Tensor


@HEADS.register_module()
class GridRoIHead(StandardRoIHead):
    """StandardRoIHead plus ``grid_head``.

    Args:
        grid_roi_extractor: pools the grid head's RoI features (14x14); None shares the box
            extractor.
        grid_head: the ``GridHead`` config.
        **kwargs: :class:`StandardRoIHead`'s arguments; ``train_cfg`` also reads
            ``pos_radius`` and ``max_num_grid`` (192).

    Training jitters the positive RoIs (by up to 15 % of their size, as 2.x, in place: a mask
    branch then sees the jittered boxes too) and adds ``loss_grid`` to the box losses.
    """

    def __init__(self, grid_roi_extractor: Optional[dict], grid_head: dict, **kwargs):
        if grid_head is None:
            raise ValueError("GridRoIHead needs grid_head=dict(type='GridHead', ...)")
        super().__init__(**kwargs)
        if grid_roi_extractor is not None:
            self.grid_roi_extractor = build_roi_extractor(grid_roi_extractor)
            self.share_roi_extractor = False
        else:
            self.share_roi_extractor = True
            self.grid_roi_extractor = self.bbox_roi_extractor
        self.grid_head = build_head(grid_head)

    def _random_jitter(self, sampling_results: list, img_metas: List[dict],
                       amplitude: float = 0.15) -> list:
        """Shift and scale each image's positive boxes by uniform offsets in
        [-amplitude, amplitude] of their size, clipped to the image (in place)."""
        for sampling_result, img_meta in zip(sampling_results, img_metas):
            bboxes = sampling_result.pos_bboxes
            offsets = bboxes.new_empty(bboxes.shape[0], 4).uniform_(-amplitude, amplitude)
            cxcy = (bboxes[:, 2:4] + bboxes[:, :2]) / 2
            wh = (bboxes[:, 2:4] - bboxes[:, :2]).abs()
            new_cxcy = cxcy + wh * offsets[:, :2]
            new_wh = wh * (1 + offsets[:, 2:])
            new_bboxes = torch.cat([new_cxcy - new_wh / 2, new_cxcy + new_wh / 2], dim=1)
            max_shape = img_meta['img_shape']
            if max_shape is not None:
                new_bboxes[:, 0::2].clamp_(min=0, max=max_shape[1] - 1)
                new_bboxes[:, 1::2].clamp_(min=0, max=max_shape[0] - 1)
            sampling_result.pos_bboxes = new_bboxes
        return sampling_results

    def _grid_feats(self, x: List[Tensor], rois: Tensor) -> Tensor:
        feats = self.grid_roi_extractor(x[:self.grid_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            feats = self.shared_head(feats)
        return feats

    def forward_dummy(self, x: List[Tensor], proposals: Tensor) -> tuple:
        """Raw outputs of the box, grid and mask branches on ``proposals`` (K, 4)."""
        rois = bbox2roi([proposals])
        outs: tuple = ()
        if self.with_bbox:
            bbox_results = self._bbox_forward(x, rois)
            outs = outs + (bbox_results['cls_score'], bbox_results['bbox_pred'])
        outs = outs + (self.grid_head(self._grid_feats(x, rois[:100])), )
        if self.with_mask:
            outs = outs + (self._mask_forward(x, rois[:100])['mask_pred'], )
        return outs

    def _bbox_forward_train(self, x: List[Tensor], sampling_results: list,
                            gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                            img_metas: Optional[List[dict]] = None) -> dict:
        """The box losses plus ``loss_grid`` on (at most ``max_num_grid``) jittered positive
        RoIs."""
        bbox_results = super()._bbox_forward_train(x, sampling_results, gt_bboxes, gt_labels,
                                                   img_metas)
        if img_metas is None:
            raise ValueError('GridRoIHead._bbox_forward_train needs img_metas (to clip the '
                             'jittered boxes)')
        sampling_results = self._random_jitter(sampling_results, img_metas)
        pos_rois = bbox2roi([res.pos_bboxes for res in sampling_results])
        if pos_rois.shape[0] == 0:
            return bbox_results
        grid_feats = self._grid_feats(x, pos_rois)
        max_num_grid = self.train_cfg.get('max_num_grid', 192)
        sample_idx = torch.randperm(grid_feats.shape[0])[:min(grid_feats.shape[0],
                                                              max_num_grid)]
        grid_pred = self.grid_head(grid_feats[sample_idx])
        grid_targets = self.grid_head.get_targets(sampling_results, self.train_cfg)
        bbox_results['loss_bbox'].update(
            self.grid_head.loss(grid_pred, grid_targets[sample_idx]))
        return bbox_results

    def simple_test(self, x: List[Tensor], proposal_list: List[Tensor], img_metas: List[dict],
                    proposals: Optional[List[Tensor]] = None, rescale: bool = False) -> list:
        """Per image ``bbox_results`` (or ``(bbox_results, segm_results)``): the box head's
        detections re-localised by the grid head."""
        if self.test_cfg is None:
            raise RuntimeError('the RoI head has no test_cfg; build the detector with '
                               'test_cfg=dict(rpn=..., rcnn=...)')
        det_bboxes, det_labels = self.simple_test_bboxes(x, img_metas, proposal_list,
                                                         self.test_cfg, rescale=False)
        num_classes = self.bbox_head.num_classes
        grid_rois = bbox2roi([det_bbox[:, :4] for det_bbox in det_bboxes])
        refined = [det_bbox.new_zeros(0, 5) for det_bbox in det_bboxes]
        if grid_rois.shape[0] != 0:
            grid_pred = self.grid_head(self._grid_feats(x, grid_rois))['fused']
            grid_preds = grid_pred.split([len(det_bbox) for det_bbox in det_bboxes], 0)
            for i, det_bbox in enumerate(det_bboxes):
                if det_bbox.shape[0] == 0:
                    continue
                boxes = self.grid_head.get_bboxes(det_bbox, grid_preds[i], [img_metas[i]])
                boxes = boxes.to(det_bbox.device)
                if rescale:
                    boxes[:, :4] /= scale_factor_tensor(img_metas[i]['scale_factor'], boxes)
                refined[i] = boxes
        bbox_results = [bbox2result(boxes, labels, num_classes)
                        if boxes.shape[0] else [np.zeros((0, 5), np.float32)] * num_classes
                        for boxes, labels in zip(refined, det_labels)]
        if not self.with_mask:
            return bbox_results
        segm_results = self.simple_test_mask(x, img_metas, refined, det_labels,
                                             rescale=rescale)
        return list(zip(bbox_results, segm_results))

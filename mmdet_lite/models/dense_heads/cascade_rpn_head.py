"""CascadeRPNHead: a sequence of ``StageCascadeRPNHead``s, each refining the previous stage's
boxes (Vu et al., "Cascade RPN", NeurIPS 2019; mmdetection 2.x).

Shape shorthand: ``N`` images, ``L`` levels, ``n`` proposals.
"""
import copy
from typing import Dict, List, Optional, Sequence

from torch import Tensor, nn

from ...core.utils.config import as_config
from ..builder import HEADS, build_head
from .adaptive_conv import AdaptiveConv
from .base_dense_head import BaseDenseHead
from .stage_cascade_rpn_head import StageCascadeRPNHead

__all__ = ['AdaptiveConv', 'StageCascadeRPNHead', 'CascadeRPNHead']


@HEADS.register_module()
class CascadeRPNHead(BaseDenseHead):
    """``stages`` (an ``nn.ModuleList``, state-dict keys ``rpn_head.stages.<i>.*``).

    Args:
        num_stages: number of stages (must equal ``len(stages)``).
        stages: the stage configs (``StageCascadeRPNHead``).
        train_cfg: one training config per stage (the detector's ``train_cfg.rpn`` list).
        test_cfg: the proposal config of the last stage.

    As in 2.x, the proposals handed to the RoI head in training also use ``test_cfg`` (the
    detector's ``train_cfg.rpn_proposal`` is not read by this head).
    """

    def __init__(self, num_stages: int, stages: List[dict],
                 train_cfg: Optional[Sequence[dict]] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if num_stages != len(stages):
            raise ValueError(f'CascadeRPNHead: num_stages={num_stages} but {len(stages)} stage '
                             'configs; give one config per stage')
        if train_cfg is not None and len(train_cfg) != num_stages:
            raise ValueError(f'CascadeRPNHead: {num_stages} stages but {len(train_cfg)} '
                             'train_cfg.rpn entries; give one per stage')
        self.num_stages = num_stages
        self.stages = nn.ModuleList()
        for i, stage in enumerate(stages):
            stage = copy.deepcopy(dict(stage))
            stage.update(train_cfg=train_cfg[i] if train_cfg is not None else None,
                         test_cfg=test_cfg)
            self.stages.append(build_head(stage))
        self.train_cfg = as_config(train_cfg)
        self.test_cfg = as_config(test_cfg)

    def loss(self, *args, **kwargs) -> Dict[str, List[Tensor]]:
        """Each stage computes its own losses (``StageCascadeRPNHead.loss``) inside
        :meth:`forward_train`, on the anchors the previous stage refined."""
        raise NotImplementedError('CascadeRPNHead has no loss of its own: call forward_train, '
                                  'which collects the stages\' losses (s<i>.loss_rpn_*)')

    def _run_stages(self, x: Sequence[Tensor], img_metas: List[dict],
                    gt_bboxes: Optional[List[Tensor]] = None,
                    gt_bboxes_ignore: Optional[List[Tensor]] = None):
        """Every stage on the features ``x`` (L x (N, C, H_l, W_l)); with ``gt_bboxes`` also its
        losses. Returns (losses, last stage's anchors, cls_scores, bbox_preds)."""
        featmap_sizes = [featmap.size()[-2:] for featmap in x]
        device = x[0].device
        anchor_list, valid_flag_list = self.stages[0].get_anchors(featmap_sizes, img_metas,
                                                                  device=device)
        losses: Dict[str, List[Tensor]] = dict()
        cls_score = bbox_pred = None
        for i, stage in enumerate(self.stages):
            if stage.adapt_cfg['type'] == 'offset':
                offset_list = stage.anchor_offset(anchor_list, stage.anchor_strides,
                                                  featmap_sizes)
            else:
                offset_list = None
            x, cls_score, bbox_pred = stage(x, offset_list)
            if gt_bboxes is not None:
                stage_loss = stage.loss(anchor_list, valid_flag_list, cls_score, bbox_pred,
                                        gt_bboxes, img_metas, gt_bboxes_ignore=gt_bboxes_ignore)
                for name, value in stage_loss.items():
                    losses[f's{i}.{name}'] = value
            if i < self.num_stages - 1:
                anchor_list = stage.refine_bboxes(anchor_list, bbox_pred, img_metas)
        return losses, anchor_list, cls_score, bbox_pred

    def forward_train(self, x: Sequence[Tensor], img_metas: List[dict], gt_bboxes: List[Tensor],
                      gt_labels: Optional[List[Tensor]] = None,
                      gt_bboxes_ignore: Optional[List[Tensor]] = None,
                      proposal_cfg: Optional[dict] = None, **kwargs):
        """Losses ``s<i>.loss_rpn_reg`` / ``s<i>.loss_rpn_cls`` of every stage; with
        ``proposal_cfg`` (two-stage detectors) also the per-image proposals (n, 5), made with
        ``test_cfg`` as 2.x."""
        if gt_labels is not None:
            raise ValueError('CascadeRPNHead is class-agnostic: forward_train takes no '
                             'gt_labels')
        losses, anchor_list, cls_score, bbox_pred = self._run_stages(
            x, img_metas, gt_bboxes, gt_bboxes_ignore)
        if proposal_cfg is None:
            return losses
        proposal_list = self.stages[-1].get_bboxes(anchor_list, cls_score, bbox_pred, img_metas,
                                                   self.test_cfg)
        return losses, proposal_list

    def simple_test_rpn(self, x: Sequence[Tensor], img_metas: List[dict]) -> List[Tensor]:
        """Per image proposals (n, 5) ``[x1, y1, x2, y2, score]`` at the network input scale."""
        _, anchor_list, cls_score, bbox_pred = self._run_stages(x, img_metas)
        return self.stages[-1].get_bboxes(anchor_list, cls_score, bbox_pred, img_metas,
                                          self.test_cfg)

    def simple_test(self, feats: Sequence[Tensor], img_metas: List[dict],
                    rescale: bool = False) -> List[Tensor]:
        """Proposals (see :meth:`simple_test_rpn`); ``rescale`` is the detector's business."""
        return self.simple_test_rpn(feats, img_metas)

    def aug_test_rpn(self, feats: List[Sequence[Tensor]],
                     img_metas: List[List[dict]]) -> List[Tensor]:
        """Not available, as in 2.x."""
        raise NotImplementedError('CascadeRPNHead does not support test-time augmentation '
                                  '(neither did mmdetection 2.x); test without aug_test')

"""Pieces that several kinds of model component share and that are neither a layer nor a head:

* :func:`as_config` (defined in ``core/utils/config.py``, re-exported here), the one way a
  component keeps its ``train_cfg`` / ``test_cfg``;
* ``results``: the ``NamedTuple`` results of the heads (targets, candidates, detections);
* ``gt_check``: validation of ground-truth boxes before target assignment;
* ``conv_module``, ``res_layer``: blocks of several layers (conv + norm + activation, a
  residual stage) that backbones, necks and heads build with.

A new module belongs here only if at least two of backbones, necks, dense heads, RoI heads and
detectors use it; a layer family (DCN, plugins, ...) goes to ``models/layers/`` instead.
"""
from ...core.utils.config import as_config
from .conv_module import ConvModule
from .csp_layer import CSPLayer
from .csp_layer import DarknetBottleneck
from .gt_check import check_gt_bboxes
from .inverted_residual import InvertedResidual
from .make_divisible import make_divisible
from .point_sample import get_uncertainty, get_uncertain_point_coords_with_randomness
from .res_layer import ResLayer
from .results import (AnchorTargets, BBoxTargets, DenseCandidates, Detections,
                      ImageAnchorTargets, RoICandidates, SampledAnchorTargets)
from .se_layer import DyReLU, SELayer
from .sigmoid_geometric_mean import sigmoid_geometric_mean  # the function, as 2.x
from .simplified_basic_block import SimplifiedBasicBlock

__all__ = ['ConvModule', 'ResLayer', 'check_gt_bboxes', 'as_config', 'CSPLayer',
           'DarknetBottleneck', 'InvertedResidual', 'make_divisible', 'SELayer', 'DyReLU']
__all__ += ['AnchorTargets', 'BBoxTargets', 'DenseCandidates', 'Detections',
            'ImageAnchorTargets', 'RoICandidates', 'SampledAnchorTargets']
__all__ += ['SimplifiedBasicBlock', 'sigmoid_geometric_mean']
__all__ += ['get_uncertainty', 'get_uncertain_point_coords_with_randomness']

"""GlobalContextHead: SCNet's global context branch: convs on the coarsest level, global
average pooling; the pooled features are added to every RoI feature of the image, and a
multi-label classifier of the classes present in the image is trained on them.

Shapes: ``N`` images, ``D`` = ``conv_out_channels``, ``C`` classes.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...builder import HEADS
from ...utils.res_layer import ResLayer
from ...utils.simplified_basic_block import SimplifiedBasicBlock


@HEADS.register_module()
class GlobalContextHead(BaseModule):
    """Global context head.

    Args:
        num_convs: 3x3 convs on the last input level (or, with ``conv_to_res``, twice the
            number of ``SimplifiedBasicBlock`` s).
        in_channels / conv_out_channels: channels of the input level and of the convs (D).
        num_classes: ``C``, the outputs of the multi-label classifier ``fc``.
        loss_weight: weight of the multi-label BCE loss.
        conv_cfg / norm_cfg: of the convs.
        conv_to_res: residual blocks instead of plain convs.
    """

    def __init__(self, num_convs: int = 4, in_channels: int = 256,
                 conv_out_channels: int = 256, num_classes: int = 80, loss_weight: float = 1.0,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 conv_to_res: bool = False,
                 init_cfg: Optional[dict] = dict(type='Normal', std=0.01,
                                                 override=dict(name='fc'))):
        super().__init__(init_cfg)
        self.num_convs = num_convs
        self.in_channels = in_channels
        self.conv_out_channels = conv_out_channels
        self.num_classes = num_classes
        self.loss_weight = loss_weight
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.conv_to_res = conv_to_res
        self.fp16_enabled = False
        if conv_to_res:
            num_res_blocks = num_convs // 2
            self.convs = ResLayer(SimplifiedBasicBlock, in_channels, conv_out_channels,
                                  num_res_blocks, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            self.num_convs = num_res_blocks
        else:
            self.convs = nn.ModuleList([
                ConvModule(in_channels if i == 0 else conv_out_channels, conv_out_channels, 3,
                           padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
                for i in range(num_convs)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(conv_out_channels, num_classes)
        self.criterion = nn.BCEWithLogitsLoss()

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """The last level of ``feats`` (N, in_channels, H, W) → multi-label logits (N, C) and
        the pooled context features (N, D, 1, 1)."""
        x = feats[-1]
        for i in range(self.num_convs):
            x = self.convs[i](x)
        x = self.pool(x)
        return self.fc(x.flatten(1)), x

    def loss(self, pred: Tensor, labels: List[Tensor]) -> Tensor:
        """BCE of the logits (N, C) against which classes each image's GT ``labels`` hold."""
        targets = torch.zeros_like(pred)
        for i, label in enumerate(labels):
            targets[i, label.unique()] = 1.0
        return self.loss_weight * self.criterion(pred, targets)

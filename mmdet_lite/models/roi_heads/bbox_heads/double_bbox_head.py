"""DoubleConvFCBBoxHead: Double-Head R-CNN's box head (Wu et al., arXiv:1904.06493): fully
connected layers classify, convolutions regress.

Shapes: ``K`` RoIs, ``D`` = ``in_channels``, ``E`` = ``conv_out_channels``, ``(h, w)`` the
RoI size, ``C`` classes.
"""
from typing import Optional, Tuple

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...backbones.resnet import Bottleneck
from ...builder import HEADS
from .bbox_head import BBoxHead


class BasicResBlock(BaseModule):
    """Residual block of the regression branch: 3x3 then 1x1 conv (no activation), plus a 1x1
    conv on the identity, then ReLU (unlike ResNet's BasicBlock, the second conv is 1x1).

    Args:
        in_channels / out_channels: channels of the input and output features.
        conv_cfg / norm_cfg: of the ``ConvModule`` layers.
    """

    def __init__(self, in_channels: int, out_channels: int, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'), init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.conv1 = ConvModule(in_channels, in_channels, kernel_size=3, padding=1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv2 = ConvModule(in_channels, out_channels, kernel_size=1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.conv_identity = ConvModule(in_channels, out_channels, kernel_size=1,
                                        conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """x (K, in_channels, h, w) -> (K, out_channels, h, w)."""
        return self.relu(self.conv2(self.conv1(x)) + self.conv_identity(x))


_DEFAULT_INIT = dict(type='Normal', override=[
    dict(type='Normal', name='fc_cls', std=0.01),
    dict(type='Normal', name='fc_reg', std=0.001),
    dict(type='Xavier', name='fc_branch', distribution='uniform'),
])


@HEADS.register_module()
class DoubleConvFCBBoxHead(BBoxHead):
    """Box head with a conv branch for regression and an fc branch for classification.

    The regression branch: ``res_block`` (D → E), ``num_convs`` ResNet bottlenecks of E
    channels, average pooling, ``fc_reg``. The classification branch: ``num_fcs`` fully
    connected layers on the flattened RoI features, ``fc_cls``.

    Args:
        num_convs / num_fcs: blocks of each branch (both > 0).
        conv_out_channels / fc_out_channels: widths of the branches.
        conv_cfg / norm_cfg: of the conv branch.
        **kwargs: :class:`BBoxHead`'s arguments (``with_avg_pool`` defaults to True and must be
            True).
    """

    def __init__(self, num_convs: int = 0, num_fcs: int = 0, conv_out_channels: int = 1024,
                 fc_out_channels: int = 1024, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Optional[dict] = _DEFAULT_INIT, **kwargs):
        kwargs.setdefault('with_avg_pool', True)
        super().__init__(init_cfg=init_cfg, **kwargs)
        if not self.with_avg_pool:
            raise ValueError('DoubleConvFCBBoxHead needs with_avg_pool=True')
        if num_convs <= 0 or num_fcs <= 0:
            raise ValueError(f'DoubleConvFCBBoxHead needs num_convs > 0 and num_fcs > 0, got '
                             f'{num_convs} and {num_fcs}')
        self.num_convs = num_convs
        self.num_fcs = num_fcs
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg

        self.res_block = BasicResBlock(self.in_channels, conv_out_channels)
        self.conv_branch = nn.ModuleList([
            Bottleneck(inplanes=conv_out_channels, planes=conv_out_channels // 4,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg) for _ in range(num_convs)])
        self.fc_branch = nn.ModuleList([
            nn.Linear(self.in_channels * self.roi_feat_area if i == 0 else fc_out_channels,
                      fc_out_channels) for i in range(num_fcs)])
        # the predictors sit on the branches (2.x's plain Linear layers, no predictor cfg)
        out_dim_reg = 4 if self.reg_class_agnostic else 4 * self.num_classes
        self.fc_reg = nn.Linear(conv_out_channels, out_dim_reg)
        self.fc_cls = nn.Linear(fc_out_channels, self.num_classes + 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x_cls: Tensor, x_reg: Tensor) -> Tuple[Tensor, Tensor]:
        """Classification RoI features ``x_cls`` and regression RoI features ``x_reg`` (both
        (K, D, h, w)) → ``cls_score`` (K, C + 1), ``bbox_pred`` (K, 4 or 4 * C)."""
        x_conv = self.res_block(x_reg)
        for conv in self.conv_branch:
            x_conv = conv(x_conv)
        bbox_pred = self.fc_reg(self.avg_pool(x_conv).flatten(1))
        x_fc = x_cls.flatten(1)
        for fc in self.fc_branch:
            x_fc = self.relu(fc(x_fc))
        return self.fc_cls(x_fc), bbox_pred

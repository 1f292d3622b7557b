"""ConvFCBBoxHead and its 2.x presets: shared convs/fcs, then per-branch convs/fcs.

Shapes: ``K`` RoIs, ``C`` foreground classes, ``(h, w)`` the pooled RoI size.

.. code-block:: none

                                /-> cls convs -> cls fcs -> fc_cls
    shared convs -> shared fcs
                                \\-> reg convs -> reg fcs -> fc_reg
"""
from typing import Optional, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import nn

from ...builder import HEADS
from .bbox_head import _DEFAULT_CODER, _DEFAULT_LOSS_BBOX, _DEFAULT_LOSS_CLS, BBoxHead

Tensor = torch.Tensor


@HEADS.register_module()
class ConvFCBBoxHead(BBoxHead):
    """Box head of configurable shared and branch-specific conv/fc layers.

    Args (besides :class:`BBoxHead`'s):
        num_shared_convs / num_shared_fcs: layers shared by both branches.
        num_cls_convs / num_cls_fcs / num_reg_convs / num_reg_fcs: per-branch layers.
        conv_out_channels / fc_out_channels: widths of the conv and fc layers.
        conv_cfg / norm_cfg: for the ``ConvModule`` convs.
    """

    def __init__(self,
                 num_shared_convs: int = 0,
                 num_shared_fcs: int = 0,
                 num_cls_convs: int = 0,
                 num_cls_fcs: int = 0,
                 num_reg_convs: int = 0,
                 num_reg_fcs: int = 0,
                 conv_out_channels: int = 256,
                 fc_out_channels: int = 1024,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 with_avg_pool: bool = False,
                 with_cls: bool = True,
                 with_reg: bool = True,
                 roi_feat_size: int = 7,
                 in_channels: int = 256,
                 num_classes: int = 80,
                 bbox_coder: dict = _DEFAULT_CODER,
                 reg_class_agnostic: bool = False,
                 reg_decoded_bbox: bool = False,
                 reg_predictor_cfg: dict = dict(type='Linear'),
                 cls_predictor_cfg: dict = dict(type='Linear'),
                 loss_cls: dict = _DEFAULT_LOSS_CLS,
                 loss_bbox: dict = _DEFAULT_LOSS_BBOX,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            with_avg_pool=with_avg_pool, with_cls=with_cls, with_reg=with_reg,
            roi_feat_size=roi_feat_size, in_channels=in_channels, num_classes=num_classes,
            bbox_coder=bbox_coder, reg_class_agnostic=reg_class_agnostic,
            reg_decoded_bbox=reg_decoded_bbox, reg_predictor_cfg=reg_predictor_cfg,
            cls_predictor_cfg=cls_predictor_cfg, loss_cls=loss_cls, loss_bbox=loss_bbox,
            init_cfg=init_cfg)
        if num_shared_convs + num_shared_fcs + num_cls_convs + num_cls_fcs + num_reg_convs \
                + num_reg_fcs <= 0:
            raise ValueError('ConvFCBBoxHead needs at least one conv or fc layer; use BBoxHead '
                             'for a head with predictors only')
        if (num_cls_convs > 0 or num_reg_convs > 0) and num_shared_fcs != 0:
            raise ValueError('num_shared_fcs must be 0 when num_cls_convs or num_reg_convs > 0: '
                             'branch convs cannot follow shared fcs')
        if not with_cls and (num_cls_convs != 0 or num_cls_fcs != 0):
            raise ValueError('with_cls=False but num_cls_convs/num_cls_fcs are set; set them to 0')
        if not with_reg and (num_reg_convs != 0 or num_reg_fcs != 0):
            raise ValueError('with_reg=False but num_reg_convs/num_reg_fcs are set; set them to 0')
        self.num_shared_convs = num_shared_convs
        self.num_shared_fcs = num_shared_fcs
        self.num_cls_convs = num_cls_convs
        self.num_cls_fcs = num_cls_fcs
        self.num_reg_convs = num_reg_convs
        self.num_reg_fcs = num_reg_fcs
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg

        self.shared_convs, self.shared_fcs, last_layer_dim = self._add_conv_fc_branch(
            num_shared_convs, num_shared_fcs, in_channels, is_shared=True)
        self.shared_out_channels = last_layer_dim
        self.cls_convs, self.cls_fcs, self.cls_last_dim = self._add_conv_fc_branch(
            num_cls_convs, num_cls_fcs, self.shared_out_channels)
        self.reg_convs, self.reg_fcs, self.reg_last_dim = self._add_conv_fc_branch(
            num_reg_convs, num_reg_fcs, self.shared_out_channels)
        if num_shared_fcs == 0 and not with_avg_pool:
            if num_cls_fcs == 0:
                self.cls_last_dim *= self.roi_feat_area
            if num_reg_fcs == 0:
                self.reg_last_dim *= self.roi_feat_area
        self.relu = nn.ReLU(inplace=True)
        # The predictors are rebuilt on the branch widths (re-assignment keeps 2.x's key order).
        self._build_predictors(self.cls_last_dim, self.reg_last_dim)
        if init_cfg is None:
            self.init_cfg += [dict(type='Xavier', distribution='uniform',
                                   override=[dict(name='shared_fcs'), dict(name='cls_fcs'),
                                             dict(name='reg_fcs')])]

    def _add_conv_fc_branch(self, num_branch_convs: int, num_branch_fcs: int, in_channels: int,
                            is_shared: bool = False) -> Tuple[nn.ModuleList, nn.ModuleList, int]:
        """Convs then fcs of one branch; returns them and the branch's output width."""
        last_layer_dim = in_channels
        branch_convs = nn.ModuleList()
        for i in range(num_branch_convs):
            conv_in = last_layer_dim if i == 0 else self.conv_out_channels
            branch_convs.append(ConvModule(conv_in, self.conv_out_channels, 3, padding=1,
                                           conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        if num_branch_convs > 0:
            last_layer_dim = self.conv_out_channels
        branch_fcs = nn.ModuleList()
        if num_branch_fcs > 0:
            if (is_shared or self.num_shared_fcs == 0) and not self.with_avg_pool:
                last_layer_dim *= self.roi_feat_area
            for i in range(num_branch_fcs):
                fc_in = last_layer_dim if i == 0 else self.fc_out_channels
                branch_fcs.append(nn.Linear(fc_in, self.fc_out_channels))
            last_layer_dim = self.fc_out_channels
        return branch_convs, branch_fcs, last_layer_dim

    def _forward_branch(self, x: Tensor, convs: nn.ModuleList, fcs: nn.ModuleList) -> Tensor:
        """One branch (cls or reg) on the shared output ``x``: (K, c, h, w) or (K, d) -> (K, D).

        Convs, then (if still 4-D) optional average pooling and flattening, then fc + ReLU.
        """
        for conv in convs:
            x = conv(x)
        if x.dim() > 2:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
        for fc in fcs:
            x = self.relu(fc(x))
        return x

    def forward(self, x: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """x (K, in_channels, h, w) -> cls_score (K, C + 1), bbox_pred (K, 4 or 4 * C)."""
        return self._forward_cls_reg(self._forward_shared(x))

    def _forward_shared(self, x: Tensor) -> Tensor:
        """The shared convs and fcs: x (K, in_channels, h, w) -> (K, c, h, w) or (K, D)."""
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        return x

    def _forward_cls_reg(self, x: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """The cls and reg branches and predictors on the shared output ``x``."""
        x_cls = self._forward_branch(x, self.cls_convs, self.cls_fcs)
        x_reg = self._forward_branch(x, self.reg_convs, self.reg_fcs)
        cls_score = self.fc_cls(x_cls) if self.with_cls else None
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        return cls_score, bbox_pred


@HEADS.register_module()
class Shared2FCBBoxHead(ConvFCBBoxHead):
    """Two shared fcs (Faster/Mask R-CNN's default box head)."""

    def __init__(self,
                 fc_out_channels: int = 1024,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 with_avg_pool: bool = False,
                 with_cls: bool = True,
                 with_reg: bool = True,
                 roi_feat_size: int = 7,
                 in_channels: int = 256,
                 num_classes: int = 80,
                 bbox_coder: dict = _DEFAULT_CODER,
                 reg_class_agnostic: bool = False,
                 reg_decoded_bbox: bool = False,
                 reg_predictor_cfg: dict = dict(type='Linear'),
                 cls_predictor_cfg: dict = dict(type='Linear'),
                 loss_cls: dict = _DEFAULT_LOSS_CLS,
                 loss_bbox: dict = _DEFAULT_LOSS_BBOX,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            num_shared_convs=0, num_shared_fcs=2, num_cls_convs=0, num_cls_fcs=0,
            num_reg_convs=0, num_reg_fcs=0, fc_out_channels=fc_out_channels, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, with_avg_pool=with_avg_pool, with_cls=with_cls,
            with_reg=with_reg, roi_feat_size=roi_feat_size, in_channels=in_channels,
            num_classes=num_classes, bbox_coder=bbox_coder,
            reg_class_agnostic=reg_class_agnostic, reg_decoded_bbox=reg_decoded_bbox,
            reg_predictor_cfg=reg_predictor_cfg, cls_predictor_cfg=cls_predictor_cfg,
            loss_cls=loss_cls, loss_bbox=loss_bbox, init_cfg=init_cfg)


@HEADS.register_module()
class Shared4Conv1FCBBoxHead(ConvFCBBoxHead):
    """Four shared convs then one shared fc (used with GroupNorm in 2.x's GN configs)."""

    def __init__(self,
                 fc_out_channels: int = 1024,
                 conv_out_channels: int = 256,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 with_avg_pool: bool = False,
                 with_cls: bool = True,
                 with_reg: bool = True,
                 roi_feat_size: int = 7,
                 in_channels: int = 256,
                 num_classes: int = 80,
                 bbox_coder: dict = _DEFAULT_CODER,
                 reg_class_agnostic: bool = False,
                 reg_decoded_bbox: bool = False,
                 reg_predictor_cfg: dict = dict(type='Linear'),
                 cls_predictor_cfg: dict = dict(type='Linear'),
                 loss_cls: dict = _DEFAULT_LOSS_CLS,
                 loss_bbox: dict = _DEFAULT_LOSS_BBOX,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            num_shared_convs=4, num_shared_fcs=1, num_cls_convs=0, num_cls_fcs=0,
            num_reg_convs=0, num_reg_fcs=0, conv_out_channels=conv_out_channels,
            fc_out_channels=fc_out_channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            with_avg_pool=with_avg_pool, with_cls=with_cls, with_reg=with_reg,
            roi_feat_size=roi_feat_size, in_channels=in_channels, num_classes=num_classes,
            bbox_coder=bbox_coder, reg_class_agnostic=reg_class_agnostic,
            reg_decoded_bbox=reg_decoded_bbox, reg_predictor_cfg=reg_predictor_cfg,
            cls_predictor_cfg=cls_predictor_cfg, loss_cls=loss_cls, loss_bbox=loss_bbox,
            init_cfg=init_cfg)

"""CentripetalHead: CentripetalNet's corners matched by centripetal shifts (Dong et al., 2020),
mmdet 2.x.

Shape shorthand as :mod:`corner_head`. Instead of embeddings, each corner predicts a guiding
shift (towards its box centre) that drives the offsets of a deformable 3x3 conv
(``*_feat_adaption``), whose output predicts the centripetal shift (log distance to the
centre); decoding keeps the pairs whose shifted corners land in the box's central region.
"""
import copy
from typing import Dict, List, Optional, Tuple, Union

from mmengine.model import normal_init
from torch import Tensor, nn

from ...core import multi_apply
from ..builder import HEADS, build_loss
from ..layers.deform_conv import DeformConv2d
from ..utils.conv_module import ConvModule
from ..utils.gt_check import check_gt_bboxes
from ..utils.results import Detections
from .corner_head import CornerHead, CornerTargets


@HEADS.register_module()
class CentripetalHead(CornerHead):
    """:class:`CornerHead` (without embeddings) plus per level ``*_guiding_shift`` and
    ``*_centripetal_shift`` predictors, ``*_dcn_offset`` 1x1 convs and ``*_feat_adaption``
    deformable convs.

    Args:
        centripetal_shift_channels / guiding_shift_channels: must be 2 (x, y).
        feat_adaption_conv_kernel: kernel of the deformable convs.
        loss_guiding_shift / loss_centripetal_shift: loss configs.
        init_cfg: must be None (as 2.x).
        args / kwargs: :class:`CornerHead`'s (``corner_emb_channels=0`` in 2.x's configs).
    """

    def __init__(self, *args, centripetal_shift_channels: int = 2,
                 guiding_shift_channels: int = 2, feat_adaption_conv_kernel: int = 3,
                 loss_guiding_shift: Optional[dict] = None,
                 loss_centripetal_shift: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if init_cfg is not None:
            raise ValueError('CentripetalHead: init_cfg must be None (its init_weights sets '
                             'the predictors, as 2.x)')
        if centripetal_shift_channels != 2 or guiding_shift_channels != 2:
            raise ValueError('CentripetalHead supports only centripetal_shift_channels=2 and '
                             f'guiding_shift_channels=2, got {centripetal_shift_channels} and '
                             f'{guiding_shift_channels}')
        if loss_guiding_shift is None:
            loss_guiding_shift = dict(type='SmoothL1Loss', beta=1.0, loss_weight=0.05)
        if loss_centripetal_shift is None:
            loss_centripetal_shift = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1)
        self.centripetal_shift_channels = centripetal_shift_channels
        self.guiding_shift_channels = guiding_shift_channels
        self.feat_adaption_conv_kernel = feat_adaption_conv_kernel
        super().__init__(*args, init_cfg=init_cfg, **kwargs)
        self.loss_guiding_shift = build_loss(copy.deepcopy(loss_guiding_shift))
        self.loss_centripetal_shift = build_loss(copy.deepcopy(loss_centripetal_shift))

    def _init_centripetal_layers(self) -> None:
        self.tl_feat_adaption = nn.ModuleList()
        self.br_feat_adaption = nn.ModuleList()
        self.tl_dcn_offset = nn.ModuleList()
        self.br_dcn_offset = nn.ModuleList()
        self.tl_guiding_shift = nn.ModuleList()
        self.br_guiding_shift = nn.ModuleList()
        self.tl_centripetal_shift = nn.ModuleList()
        self.br_centripetal_shift = nn.ModuleList()
        kernel = self.feat_adaption_conv_kernel
        for _ in range(self.num_feat_levels):
            for adaption in (self.tl_feat_adaption, self.br_feat_adaption):
                adaption.append(DeformConv2d(self.in_channels, self.in_channels, kernel, 1, 1))
            for guiding in (self.tl_guiding_shift, self.br_guiding_shift):
                guiding.append(self._make_layers(out_channels=self.guiding_shift_channels,
                                                 in_channels=self.in_channels))
            for dcn_offset in (self.tl_dcn_offset, self.br_dcn_offset):
                dcn_offset.append(ConvModule(self.guiding_shift_channels,
                                             kernel ** 2 * self.guiding_shift_channels, 1,
                                             bias=False, act_cfg=None))
            for centripetal in (self.tl_centripetal_shift, self.br_centripetal_shift):
                centripetal.append(self._make_layers(
                    out_channels=self.centripetal_shift_channels,
                    in_channels=self.in_channels))

    def _init_layers(self) -> None:
        super()._init_layers()
        self._init_centripetal_layers()

    def init_weights(self) -> None:
        """CornerHead's, then Normal(0.01) deformable convs, Normal(0.1) offset convs and
        PyTorch's default init of the shift predictors (as 2.x)."""
        super().init_weights()
        for i in range(self.num_feat_levels):
            normal_init(self.tl_feat_adaption[i], std=0.01)
            normal_init(self.br_feat_adaption[i], std=0.01)
            normal_init(self.tl_dcn_offset[i].conv, std=0.1)
            normal_init(self.br_dcn_offset[i].conv, std=0.1)
            for layers in (self.tl_guiding_shift[i], self.br_guiding_shift[i],
                           self.tl_centripetal_shift[i], self.br_centripetal_shift[i]):
                for layer in layers:
                    layer.conv.reset_parameters()

    def forward_single(self, x: Tensor, lvl_ind: int) -> list:  # type: ignore[override]
        """Of one level: tl_heat, br_heat (B, C, H, W) logits, tl_off, br_off,
        tl_guiding_shift, br_guiding_shift, tl_centripetal_shift, br_centripetal_shift
        (B, 2, H, W)."""
        tl_heat, br_heat, _, _, tl_off, br_off, tl_pool, br_pool = super().forward_single(
            x, lvl_ind, return_pool=True)
        tl_guiding_shift = self.tl_guiding_shift[lvl_ind](tl_pool)
        br_guiding_shift = self.br_guiding_shift[lvl_ind](br_pool)
        # the deformable offsets follow the guiding shifts without training them
        tl_dcn_offset = self.tl_dcn_offset[lvl_ind](tl_guiding_shift.detach())
        br_dcn_offset = self.br_dcn_offset[lvl_ind](br_guiding_shift.detach())
        tl_centripetal_shift = self.tl_centripetal_shift[lvl_ind](
            self.tl_feat_adaption[lvl_ind](tl_pool, tl_dcn_offset))
        br_centripetal_shift = self.br_centripetal_shift[lvl_ind](
            self.br_feat_adaption[lvl_ind](br_pool, br_dcn_offset))
        return [tl_heat, br_heat, tl_off, br_off, tl_guiding_shift, br_guiding_shift,
                tl_centripetal_shift, br_centripetal_shift]

    def loss(self, tl_heats: List[Tensor], br_heats: List[Tensor], tl_offs: List[Tensor],
             br_offs: List[Tensor], tl_guiding_shifts: List[Tensor],
             br_guiding_shifts: List[Tensor], tl_centripetal_shifts: List[Tensor],
             br_centripetal_shifts: List[Tensor], gt_bboxes: List[Tensor],
             gt_labels: List[Tensor], img_metas: List[dict],
             gt_bboxes_ignore: Optional[List[Tensor]] = None
             ) -> Dict[str, List[Tensor]]:  # type: ignore[override]
        """Per level ``det_loss``, ``off_loss``, ``guiding_loss``, ``centripetal_loss``."""
        check_gt_bboxes(gt_bboxes, img_metas, gt_labels, self.num_classes)
        targets = self.get_targets(gt_bboxes, gt_labels, tl_heats[-1].shape,
                                   img_metas[0]['pad_shape'],
                                   with_corner_emb=self.with_corner_emb,
                                   with_guiding_shift=True, with_centripetal_shift=True)
        mlvl_targets = [targets for _ in range(self.num_feat_levels)]
        det_losses, off_losses, guiding_losses, centripetal_losses = multi_apply(
            self.loss_single, tl_heats, br_heats, tl_offs, br_offs, tl_guiding_shifts,
            br_guiding_shifts, tl_centripetal_shifts, br_centripetal_shifts, mlvl_targets)
        return dict(det_loss=det_losses, off_loss=off_losses, guiding_loss=guiding_losses,
                    centripetal_loss=centripetal_losses)

    def loss_single(self, tl_hmp: Tensor, br_hmp: Tensor, tl_off: Tensor, br_off: Tensor,
                    tl_guiding_shift: Tensor, br_guiding_shift: Tensor,
                    tl_centripetal_shift: Tensor, br_centripetal_shift: Tensor,
                    targets: CornerTargets
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:  # type: ignore[override]
        """Of one level: CornerHead's heat-map and offset losses, and the guiding and
        centripetal shift losses at the GT corner cells."""
        det_loss, _, _, off_loss = super().loss_single(
            tl_hmp, br_hmp, None, None, tl_off, br_off,
            targets._replace(corner_embedding=None))
        tl_mask = targets.topleft_heatmap.eq(1).sum(1).gt(0).unsqueeze(1).type_as(tl_hmp)
        br_mask = targets.bottomright_heatmap.eq(1).sum(1).gt(0).unsqueeze(1).type_as(br_hmp)
        guiding_loss = (self.loss_guiding_shift(tl_guiding_shift,
                                                targets.topleft_guiding_shift, tl_mask,
                                                avg_factor=tl_mask.sum())
                        + self.loss_guiding_shift(br_guiding_shift,
                                                  targets.bottomright_guiding_shift, br_mask,
                                                  avg_factor=br_mask.sum())) / 2.0
        centripetal_loss = (self.loss_centripetal_shift(tl_centripetal_shift,
                                                        targets.topleft_centripetal_shift,
                                                        tl_mask, avg_factor=tl_mask.sum())
                            + self.loss_centripetal_shift(
                                br_centripetal_shift, targets.bottomright_centripetal_shift,
                                br_mask, avg_factor=br_mask.sum())) / 2.0
        return det_loss, off_loss, guiding_loss, centripetal_loss

    def get_bboxes(self, tl_heats: List[Tensor], br_heats: List[Tensor],
                   tl_offs: List[Tensor], br_offs: List[Tensor],
                   tl_guiding_shifts: List[Tensor], br_guiding_shifts: List[Tensor],
                   tl_centripetal_shifts: List[Tensor], br_centripetal_shifts: List[Tensor],
                   img_metas: Optional[List[dict]] = None, rescale: bool = False,
                   with_nms: bool = True) -> List[Detections]:  # type: ignore[override]
        """Per image ``Detections`` of the last level, corners paired by their centripetal
        shifts (see :meth:`CornerHead.decode_heatmap`)."""
        if img_metas is None or not tl_heats[-1].shape[0] == br_heats[-1].shape[0] == \
                len(img_metas):
            raise ValueError('CentripetalHead.get_bboxes needs one img_meta (pad_shape, '
                             'scale_factor) per image of the batch')
        return [self._get_bboxes_single(
            tl_heats[-1][i:i + 1], br_heats[-1][i:i + 1], tl_offs[-1][i:i + 1],
            br_offs[-1][i:i + 1], img_meta, tl_emb=None, br_emb=None,
            tl_centripetal_shift=tl_centripetal_shifts[-1][i:i + 1],
            br_centripetal_shift=br_centripetal_shifts[-1][i:i + 1], rescale=rescale,
            with_nms=with_nms) for i, img_meta in enumerate(img_metas)]

"""FPN with CARAFE upsampling in the top-down path (Wang et al., 2019), as mmdetection 2.x's.

Shapes: ``len(in_channels)`` inputs (N, in_channels[i], H_i, W_i) → ``num_outs`` maps
(N, out_channels, H_l, W_l); extra levels are stride-2 convs on the last input (then on the
previous extra lateral), and every level (extra ones included) takes part in the top-down path.
"""
from typing import Optional, Sequence, Tuple

from mmcv.cnn import build_upsample_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import xavier_init
from torch import Tensor, nn

from ..builder import NECKS
from ..layers.carafe import CARAFEPack
from ..utils.conv_module import ConvModule
from ...core.utils.errors import ConfigValueError

_UPSAMPLERS = ('nearest', 'bilinear', 'deconv', 'pixel_shuffle', 'carafe', None)


@NECKS.register_module()
class FPN_CARAFE(BaseModule):
    """FPN_CARAFE.

    Args:
        in_channels: channels of each backbone output.
        out_channels: channels of every level.
        num_outs: output levels.
        start_level / end_level: backbone levels used.
        norm_cfg / act_cfg: layer configs (convs have a bias only without norm).
        order: ConvModule order, ('conv', 'norm', 'act') or ('act', 'conv', 'norm').
        upsample_cfg: ``dict(type='carafe', up_kernel=5, up_group=1, encoder_kernel=3,
            encoder_dilation=1)``, or type 'nearest' / 'bilinear' / 'deconv' / 'pixel_shuffle'
            (the last two need ``upsample_kernel``) / None (no upsampling).
        init_cfg: must be None (Xavier convs and CARAFE's own init, as 2.x).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 order: Tuple[str, str, str] = ('conv', 'norm', 'act'),
                 upsample_cfg: Optional[dict] = dict(type='carafe', up_kernel=5, up_group=1,
                                                     encoder_kernel=3, encoder_dilation=1),
                 init_cfg: Optional[dict] = None):
        if init_cfg is not None:
            raise ValueError('FPN_CARAFE initialises its own layers; init_cfg must be None')
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f'FPN_CARAFE in_channels must be a list, got {in_channels!r}')
        if tuple(order) not in (('conv', 'norm', 'act'), ('act', 'conv', 'norm')):
            raise ValueError(f"FPN_CARAFE order={order!r}; use ('conv', 'norm', 'act') or "
                             "('act', 'conv', 'norm')")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.with_bias = norm_cfg is None
        self.upsample_cfg = dict(upsample_cfg or dict(type=None))
        self.upsample = self.upsample_cfg.get('type')
        self.relu = nn.ReLU(inplace=False)
        self.order = tuple(order)
        if self.upsample not in _UPSAMPLERS:
            raise ValueError(f'FPN_CARAFE upsample type {self.upsample!r}; use one of '
                             f'{_UPSAMPLERS}')
        if self.upsample in ('deconv', 'pixel_shuffle'):
            if self.upsample_cfg.get('upsample_kernel', 0) <= 0:
                raise ValueError(f"FPN_CARAFE upsample type {self.upsample!r} needs "
                                 'upsample_kernel > 0 in upsample_cfg')
            self.upsample_kernel = self.upsample_cfg.pop('upsample_kernel')
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'FPN_CARAFE num_outs={num_outs} is below the '
                                 f'{self.num_ins - start_level} backbone levels used')
        else:
            self.backbone_end_level = end_level + 1
            if not (end_level < self.num_ins and num_outs == end_level - start_level + 1):
                raise ConfigValueError(f'FPN_CARAFE end_level={end_level} needs end_level < '
                                       f'{self.num_ins} and num_outs == end_level - start_level + 1')
        self.start_level = start_level
        self.end_level = end_level

        conv = dict(norm_cfg=norm_cfg, bias=self.with_bias, act_cfg=act_cfg, inplace=False,
                    order=self.order)
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        self.upsample_modules = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(in_channels[i], out_channels, 1, **conv))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1, **conv))
            if i != self.backbone_end_level - 1:
                self.upsample_modules.append(self._upsampler())
        for i in range(num_outs - self.backbone_end_level + start_level):
            cin = self.in_channels[self.backbone_end_level - 1] if i == 0 else out_channels
            self.upsample_modules.append(self._upsampler())
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1, **conv))
            self.lateral_convs.append(ConvModule(cin, out_channels, 3, stride=2, padding=1,
                                                 **conv))

    def _upsampler(self) -> nn.Module:
        """A 2x upsampler of ``upsample_cfg``'s type on ``out_channels`` channels."""
        c = self.out_channels
        if self.upsample == 'deconv':
            k = self.upsample_kernel
            cfg = dict(in_channels=c, out_channels=c, kernel_size=k, stride=2,
                       padding=(k - 1) // 2, output_padding=(k - 1) // 2)
        elif self.upsample == 'pixel_shuffle':
            cfg = dict(in_channels=c, out_channels=c, scale_factor=2,
                       upsample_kernel=self.upsample_kernel)
        elif self.upsample == 'carafe':
            cfg = dict(channels=c, scale_factor=2,
                       **{k: v for k, v in self.upsample_cfg.items() if k != 'type'})
        else:
            cfg = dict(scale_factor=2, mode=self.upsample,
                       align_corners=None if self.upsample == 'nearest' else False)
        cfg['type'] = self.upsample
        return build_upsample_layer(cfg)

    def init_weights(self) -> None:
        """Xavier-uniform convs, then CARAFE's own init (as 2.x)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                xavier_init(m, distribution='uniform')
        for m in self.modules():
            if isinstance(m, CARAFEPack):
                m.init_weights()
        self._is_init = True

    @staticmethod
    def slice_as(src: Tensor, dst: Tensor) -> Tensor:
        """``src`` cropped (top-left) to ``dst``'s spatial size."""
        if src.size(2) < dst.size(2) or src.size(3) < dst.size(3):
            raise ValueError(f'cannot crop {tuple(src.shape)} to {tuple(dst.shape)}')
        return src[:, :, :dst.size(2), :dst.size(3)]

    def tensor_add(self, a: Tensor, b: Tensor) -> Tensor:
        """a + b, ``b`` cropped to ``a``'s size (odd sizes upsample one pixel too many)."""
        return a + (b if a.size() == b.size() else self.slice_as(b, a))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'FPN_CARAFE was built for {len(self.in_channels)} inputs, got '
                             f'{len(inputs)}')
        laterals = []
        for i, conv in enumerate(self.lateral_convs):
            if i <= self.backbone_end_level - self.start_level:
                x = inputs[min(i + self.start_level, len(inputs) - 1)]
            else:
                x = laterals[-1]
            laterals.append(conv(x))
        for i in range(len(laterals) - 1, 0, -1):
            up = (self.upsample_modules[i - 1](laterals[i]) if self.upsample is not None
                  else laterals[i])
            laterals[i - 1] = self.tensor_add(laterals[i - 1], up)
        return tuple(conv(lateral) for conv, lateral in zip(self.fpn_convs, laterals))

"""NASFCOSHead: FCOS with the searched towers of NAS-FCOS (Wang et al., "NAS-FCOS: Fast Neural
Architecture Search for Object Detection", 2020).

Shape shorthand: ``N`` images, ``C`` classes, ``H x W`` one level's size.
"""
import copy
from typing import List, Optional, Union

from torch import nn

from ..builder import HEADS
from ..layers.scale import Scale
from ..utils.conv_module import ConvModule
from .fcos_head import FCOSHead

# The searched tower, shared by the classification and regression branches: a 3x3 DCNv2 (with
# bias, 2 deformable groups), a 3x3 conv, a 3x3 DCNv2 and a 1x1 conv.
_DCONV3X3 = dict(type='DCNv2', kernel_size=3, use_bias=True, deform_groups=2, padding=1)
_CONV3X3 = dict(type='Conv', kernel_size=3, padding=1)
_CONV1X1 = dict(type='Conv', kernel_size=1)


@HEADS.register_module()
class NASFCOSHead(FCOSHead):
    """``FCOSHead`` whose towers (``cls_convs``, ``reg_convs``) are the searched four-op
    sequence; ``stacked_convs`` is ignored. Outputs as :class:`FCOSHead`.

    ``init_cfg`` (2.x default): Caffe2 Xavier on the tower, Normal(0.01) on the predictors,
    ``conv_cls``'s bias for p=0.01.
    """

    def __init__(self, *args, init_cfg: Optional[Union[dict, List[dict]]] = None, **kwargs):
        if init_cfg is None:
            init_cfg = [
                dict(type='Caffe2Xavier', layer=['ConvModule', 'Conv2d']),
                dict(type='Normal', std=0.01,
                     override=[dict(name='conv_reg'), dict(name='conv_centerness'),
                               dict(name='conv_cls', type='Normal', std=0.01,
                                    bias_prob=0.01)]),
            ]
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self.arch_config = [_DCONV3X3, _CONV3X3, _DCONV3X3, _CONV1X1]
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i, op in enumerate(self.arch_config):
            op = copy.deepcopy(op)
            chn = self.in_channels if i == 0 else self.feat_channels
            use_bias = op.pop('use_bias', False)
            padding = op.pop('padding', 0)
            kernel_size = op.pop('kernel_size')
            for convs in (self.cls_convs, self.reg_convs):
                convs.append(ConvModule(chn, self.feat_channels, kernel_size, stride=1,
                                        padding=padding, norm_cfg=self.norm_cfg, bias=use_bias,
                                        conv_cfg=copy.deepcopy(op)))
        self.conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)
        self.conv_centerness = nn.Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

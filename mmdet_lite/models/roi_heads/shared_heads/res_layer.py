"""``ResLayer`` shared head (mmdetection 2.x): one ResNet stage run on the RoI features of a C4
detector (``roi_head.shared_head.layer4.*``). Input (K, 64 * 2**(stage - 1) * 4, h, w) from the
RoI extractor; output (K, 64 * 2**stage * 4, h / stride, w / stride).
"""
from typing import List, Optional, Union

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ....checkpoint import load_pretrained, pretrained_init_cfg
from ...backbones.resnet import ResNet
from ...builder import SHARED_HEADS
from ...utils.res_layer import ResLayer as _ResLayer
from ...utils.pretrained import init_cfg_with_pretrained


@SHARED_HEADS.register_module()
class ResLayer(BaseModule):
    """Stage ``stage`` (0-based) of a ResNet-``depth``, named ``layer{stage + 1}``.

    Args:
        depth: ResNet depth (50, 101, 152; 18/34 also build).
        stage: which stage; its width is ResNet's at ``base_channels=64``.
        stride / dilation / style / with_cp / dcn: of the stage's blocks (as ResNet's).
        norm_cfg: norm layer config.
        norm_eval: keep BatchNorms in eval mode while training.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)``: a ResNet checkpoint whose
            ``layer{stage + 1}.*`` keys are loaded (the others ignored); else Kaiming init.
    """

    def __init__(self, depth: int, stage: int = 3, stride: int = 2, dilation: int = 1,
                 style: str = 'pytorch', norm_cfg: Optional[dict] = None, norm_eval: bool = True,
                 with_cp: bool = False, dcn: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        init_cfg = init_cfg_with_pretrained('ResLayer', pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        if depth not in ResNet.arch_settings:
            raise KeyError(f'invalid depth {depth} for the ResLayer shared head; use one of '
                           f'{sorted(ResNet.arch_settings)}')
        self.norm_eval = norm_eval
        self.norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        self.stage = stage
        self.depth = depth
        block, stage_blocks = ResNet.arch_settings[depth]
        planes = 64 * 2**stage
        inplanes = 64 * 2**(stage - 1) * block.expansion
        self.add_module(f'layer{stage + 1}', _ResLayer(
            block, inplanes, planes, stage_blocks[stage], stride=stride, dilation=dilation,
            style=style, with_cp=with_cp, norm_cfg=self.norm_cfg, dcn=dcn))

    def init_weights(self) -> None:
        """Load the stage from a pretrained ResNet, or Kaiming/constant init."""
        pretrained = pretrained_init_cfg(self.init_cfg)
        if pretrained is not None:
            load_pretrained(self, pretrained['checkpoint'], prefix=pretrained.get('prefix'),
                            owner=f'ResNet-{self.depth} layer{self.stage + 1}')
        else:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        self._is_init = True

    def forward(self, x: Tensor) -> Tensor:
        return getattr(self, f'layer{self.stage + 1}')(x)

    def train(self, mode: bool = True) -> 'ResLayer':
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

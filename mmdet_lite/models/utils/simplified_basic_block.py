"""SimplifiedBasicBlock: SCNet's residual block (a ResNet ``BasicBlock`` whose norm layers are
optional and without the last ReLU)."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from ..layers.conv import build_conv_layer
from ..layers.norm import build_norm_layer
from ...core.utils.errors import ConfigValueError


class SimplifiedBasicBlock(BaseModule):
    """``conv1`` (3x3, stride) [norm1] ReLU ``conv2`` (3x3) [norm2] + identity, no last ReLU.

    Arguments are ``BasicBlock``'s (``ResLayer`` passes them); ``norm_cfg=None`` builds no norm
    layers and gives the convs a bias. ``dcn``, ``plugins`` and ``with_cp`` are not supported
    (nor were they in 2.x). ``init_fg`` is 2.x's (misspelt) ``init_cfg``.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'), dcn: Optional[dict] = None,
                 plugins: Optional[list] = None, init_fg: Optional[dict] = None):
        super().__init__(init_fg)
        if dcn is not None or plugins is not None or with_cp:
            raise ConfigValueError('SimplifiedBasicBlock supports neither dcn, plugins nor with_cp')
        self.with_norm = norm_cfg is not None
        with_bias = norm_cfg is None
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=with_bias)
        if self.with_norm:
            self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
            self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=with_bias)
        if self.with_norm:
            self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
            self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp

    @property
    def norm1(self) -> Optional[nn.Module]:
        return getattr(self, self.norm1_name) if self.with_norm else None

    @property
    def norm2(self) -> Optional[nn.Module]:
        return getattr(self, self.norm2_name) if self.with_norm else None

    def forward(self, x: Tensor) -> Tensor:
        """x (N, inplanes, H, W) -> (N, planes, H / stride, W / stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)) if self.with_norm else self.conv1(x))
        out = self.conv2(out)
        if self.with_norm:
            out = self.norm2(out)
        return out + identity

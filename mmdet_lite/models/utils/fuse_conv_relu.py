"""Run ReLU (and a residual block's add) inside oneDNN's convolution at CPU test time.

In an NHWC float32 forward on the CPU, every ``ReLU`` after a conv and every residual
``out += identity; relu(out)`` is one more pass over a full feature map. oneDNN applies them as
post-ops of the convolution itself (``torch.ops.mkldnn._convolution_pointwise``, the op
``torch.compile`` fuses CPU convs into), with the same float32 arithmetic: the results are the
same numbers, minus the extra passes.

Like :mod:`.fuse_conv_bn`, :func:`fuse_conv_relu` only swaps classes, so ``state_dict()`` keeps
every key and value, and training, autograd, autocast, CUDA and NCHW inputs run the original
``forward``. It swaps, after BN folding:

* a ``ConvModule`` whose order is conv → norm → act with a ReLU, whose conv is a folded conv
  (:class:`~.fuse_conv_bn.FoldedConv2d`) or a plain ``nn.Conv2d`` without norm, no explicit
  padding layer → :class:`ReLUFusedConvModule`;
* a ResNet ``Bottleneck`` / ``BasicBlock`` (exactly those classes: subclasses change the forward)
  without plugins whose convs all have their BN folded in → :class:`ReLUFusedBottleneck` /
  :class:`ReLUFusedBasicBlock` (conv → ReLU fused, the last conv fused with the add and ReLU).

:func:`unfuse_conv_relu` restores the original classes.
"""
from typing import Dict, Optional, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from ...core.utils.misc import is_tracing
from ..backbones.resnet import BasicBlock, Bottleneck
from .fuse_conv_bn import FoldedConv2d

__all__ = ['ReLUFusedConvModule', 'ReLUFusedBottleneck', 'ReLUFusedBasicBlock',
           'fuse_conv_relu', 'unfuse_conv_relu', 'conv_relu_fusion_available']

_ORDER = ('conv', 'norm', 'act')


def conv_relu_fusion_available() -> bool:
    """Whether this torch build has oneDNN's pointwise-fused convolution."""
    return (torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkldnn, '_convolution_pointwise'))


def _conv_params(conv: nn.Module) -> Optional[Tuple[Tensor, Optional[Tensor]]]:
    """(weight, bias) that ``conv`` convolves with now, or None when it is not a plain conv of
    its inputs (a folded conv whose BN trains)."""
    if type(conv) is FoldedConv2d:
        return None if conv.__dict__['_folded_bn'].training else conv._folded()
    if type(conv) is nn.Conv2d:
        return conv.weight, conv.bias
    return None


def _fusable_input(x: Tensor) -> bool:
    """The fused op runs exactly what ``F.conv2d`` would: a CPU float32 NHWC input, no autograd
    and no autocast (which would run the conv in bf16/fp16), not traced for export. Checked
    before the folded weights are looked up (a traced lookup would be a second one)."""
    return (x.device.type == 'cpu' and x.dtype == torch.float32 and x.dim() == 4
            and not torch.is_grad_enabled() and not is_tracing()
            and not torch.is_autocast_enabled('cpu')
            and x.is_contiguous(memory_format=torch.channels_last))


def _fusable_params(conv: nn.Module) -> Optional[Tuple[Tensor, Optional[Tensor]]]:
    params = _conv_params(conv)
    if params is None:
        return None
    weight = params[0]
    nhwc = weight.dtype == torch.float32 and weight.is_contiguous(
        memory_format=torch.channels_last)
    return params if nhwc else None


def _conv_args(conv: nn.Conv2d) -> tuple:
    return list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups


def _conv_relu(conv: nn.Conv2d, x: Tensor) -> Optional[Tensor]:
    """relu(conv(x)) as one oneDNN op, or None when it cannot be (then run the modules)."""
    params = _fusable_params(conv) if _fusable_input(x) else None
    if params is None:
        return None
    return torch.ops.mkldnn._convolution_pointwise(x, params[0], params[1], *_conv_args(conv),
                                                   'relu', [None], '')


def _conv_add_relu(conv: nn.Conv2d, x: Tensor, identity: Tensor) -> Optional[Tensor]:
    """relu(conv(x) + identity) as one oneDNN op, or None when it cannot be."""
    fusable = _fusable_input(x) and _fusable_input(identity)
    params = _fusable_params(conv) if fusable else None
    if params is None:
        return None
    return torch.ops.mkldnn._convolution_pointwise.binary(
        x, identity, params[0], params[1], *_conv_args(conv), 'add', None, 'relu', [None], '')


class ReLUFusedConvModule(ConvModule):
    """A conv → (folded norm) → ReLU ``ConvModule`` whose ReLU runs inside the conv."""

    def forward(self, x: Tensor, activate: bool = True, norm: bool = True) -> Tensor:
        """(N, C_in, H, W) → (N, C_out, H', W'), as ``ConvModule.forward``."""
        if activate and norm and not self.training:
            out = _conv_relu(self.conv, x)
            if out is not None:
                return out
        return super().forward(x, activate=activate, norm=norm)


def _fused_block(block: nn.Module, x: Tensor, relu_convs: Tuple[nn.Conv2d, ...],
                 last_conv: nn.Conv2d) -> Optional[Tensor]:
    """A residual block's ``relu(last_conv(relu_convs(x)) + identity)`` with every ReLU and the
    add inside the convs, or None when a conv cannot be fused (then run the block's forward)."""
    out: Optional[Tensor] = x
    for conv in relu_convs:
        out = _conv_relu(conv, out)
        if out is None:
            return None
    identity = x if block.downsample is None else block.downsample(x)
    return _conv_add_relu(last_conv, out, identity)


class ReLUFusedBottleneck(Bottleneck):
    """A ``Bottleneck`` with folded BNs whose ReLUs and residual add run inside its convs."""

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) → (N, 4 * planes, H / stride, W / stride), as ``Bottleneck``."""
        out = None if self.training else _fused_block(self, x, (self.conv1, self.conv2),
                                                      self.conv3)
        return super().forward(x) if out is None else out


class ReLUFusedBasicBlock(BasicBlock):
    """A ``BasicBlock`` with folded BNs whose ReLUs and residual add run inside its convs."""

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) → (N, planes, H / stride, W / stride), as ``BasicBlock``."""
        out = None if self.training else _fused_block(self, x, (self.conv1, ), self.conv2)
        return super().forward(x) if out is None else out


_FUSED: Dict[type, type] = {ConvModule: ReLUFusedConvModule, Bottleneck: ReLUFusedBottleneck,
                            BasicBlock: ReLUFusedBasicBlock}
_ORIGINAL: Dict[type, type] = {v: k for k, v in _FUSED.items()}


def _folded(conv: Optional[nn.Module]) -> bool:
    return type(conv) is FoldedConv2d and conv.padding_mode == 'zeros'


def _fusable_module(module: nn.Module) -> bool:
    if type(module) is ConvModule:
        conv = module.conv
        if (tuple(module.order) != _ORDER or not module.with_activation
                or type(module.activate) is not nn.ReLU or module.with_explicit_padding
                or getattr(conv, 'padding_mode', None) != 'zeros'
                or isinstance(conv.padding, str)):
            return False
        return _folded(conv) if module.with_norm else type(conv) is nn.Conv2d
    if type(module) in (Bottleneck, BasicBlock):
        convs = ([module.conv1, module.conv2, module.conv3] if type(module) is Bottleneck
                 else [module.conv1, module.conv2])
        plugins = [getattr(module, f'after_conv{i}_plugin_names', []) for i in (1, 2, 3)]
        return not any(plugins) and all(_folded(conv) for conv in convs)
    return False


def fuse_conv_relu(model: nn.Module) -> int:
    """Swap every fusable module of ``model`` (see the module docstring) in place; run it after
    :func:`~.fuse_conv_bn.fold_batch_norms`. Returns the number of modules swapped (0 when
    :func:`conv_relu_fusion_available` is False)."""
    if not conv_relu_fusion_available():
        return 0
    swapped = 0
    for module in model.modules():
        if _fusable_module(module):
            module.__class__ = _FUSED[type(module)]
            swapped += 1
    return swapped


def unfuse_conv_relu(model: nn.Module) -> int:
    """Undo :func:`fuse_conv_relu`: original classes back; returns the modules restored."""
    restored = 0
    for module in model.modules():
        if type(module) in _ORIGINAL:
            module.__class__ = _ORIGINAL[type(module)]
            restored += 1
    return restored

"""What backbones do for ``frozen_stages`` and ``norm_eval`` (2.x semantics)."""
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def freeze(module: nn.Module) -> None:
    """Put ``module`` in eval mode and stop gradients to its parameters (a frozen stage)."""
    module.eval()
    for param in module.parameters():
        param.requires_grad = False


def batch_norms_to_eval(module: nn.Module) -> None:
    """Every BatchNorm below ``module`` uses (and keeps) its running statistics (``norm_eval``)."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eval()

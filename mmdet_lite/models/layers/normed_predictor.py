"""Cosine-similarity predictors (2.x's ``NormedLinear`` / ``NormedConv2d``, used with the Seesaw
loss on LVIS) and ``build_linear_layer`` for a head's ``*_predictor_cfg``.

Both normalise the input features and each output's weights to unit L2 norm (raised to
``power``) and scale the input by ``tempearture`` (2.x's spelling of the argument, kept so
configs load), so the logits are scaled cosine similarities.

Shapes: ``K`` samples, ``D_in`` / ``D_out`` features; conv: ``(N, C_in, H, W)``.
"""
import inspect
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import MODELS


@MODELS.register_module(name='NormedLinear')
class NormedLinear(nn.Linear):
    """``nn.Linear`` on L2-normalised inputs and weight rows (a scaled cosine similarity).

    Args:
        *args / **kwargs: ``nn.Linear``'s (``in_features``, ``out_features``, ``bias``).
        tempearture: scale of the normalised input (2.x's argument name).
        power: the norms are raised to this power.
        eps: added to the norms.
    """

    def __init__(self, *args, tempearture: float = 20, power: float = 1.0, eps: float = 1e-6,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.tempearture = tempearture
        self.power = power
        self.eps = eps
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.normal_(self.weight, mean=0, std=0.01)
        if self.bias is not None:
            nn.init.constant_(self.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        """x (K, D_in) -> (K, D_out)."""
        weight = self.weight / (self.weight.norm(dim=1, keepdim=True).pow(self.power) + self.eps)
        x = x / (x.norm(dim=1, keepdim=True).pow(self.power) + self.eps) * self.tempearture
        return F.linear(x, weight, self.bias)


@MODELS.register_module(name='NormedConv2d')
class NormedConv2d(nn.Conv2d):
    """``nn.Conv2d`` on inputs normalised over channels and filters normalised over their input
    channels (``norm_over_kernel``: over the whole kernel).

    Args:
        *args / **kwargs: ``nn.Conv2d``'s.
        tempearture / power / eps: as :class:`NormedLinear`.
        norm_over_kernel: normalise each filter over channels and kernel positions together.
    """

    def __init__(self, *args, tempearture: float = 20, power: float = 1.0, eps: float = 1e-6,
                 norm_over_kernel: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.tempearture = tempearture
        self.power = power
        self.norm_over_kernel = norm_over_kernel
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """x (N, C_in, H, W) -> (N, C_out, H', W')."""
        if self.norm_over_kernel:
            norm = self.weight.flatten(1).norm(dim=1, keepdim=True).pow(self.power)
            weight = self.weight / (norm[..., None, None] + self.eps)
        else:
            weight = self.weight / (self.weight.norm(dim=1, keepdim=True).pow(self.power)
                                    + self.eps)
        x = x / (x.norm(dim=1, keepdim=True).pow(self.power) + self.eps) * self.tempearture
        return self._conv_forward(x, weight, self.bias)


def build_linear_layer(cfg: Optional[dict], *args, **kwargs) -> nn.Module:
    """The linear layer of a 2.x predictor config (``None`` or ``dict(type='Linear')`` →
    ``nn.Linear``; ``dict(type='NormedLinear', tempearture=20)``, ...) with ``nn.Linear``'s
    arguments; ``cfg`` is not modified."""
    if cfg is None:
        return nn.Linear(*args, **kwargs)
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f"a predictor cfg must be None or a dict with a 'type' key (e.g. "
                        f"dict(type='Linear')), got {cfg!r}")
    cfg = dict(cfg)
    layer_type = cfg.pop('type')
    if layer_type == 'Linear':
        return nn.Linear(*args, **kwargs, **cfg)
    layer_cls = layer_type if inspect.isclass(layer_type) else MODELS.get(layer_type)
    if layer_cls is None:
        raise KeyError(f'predictor cfg type {layer_type!r} is unknown; use Linear or '
                       'NormedLinear, or register your layer with @MODELS.register_module()')
    return layer_cls(*args, **kwargs, **cfg)

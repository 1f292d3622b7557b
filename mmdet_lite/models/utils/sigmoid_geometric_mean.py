"""``sigmoid_geometric_mean(x, y) = sqrt(sigmoid(x) * sigmoid(y))`` with a hand-written backward
(TOOD's joint score; mmdetection 2.x ``mmdet.models.utils.sigmoid_geometric_mean``).

Autograd through ``sqrt`` divides by the result and turns into NaN where the product underflows
to 0; the closed form ``dz/dx = z * (1 - sigmoid(x)) / 2`` does not.
"""
import torch
from torch import Tensor
from torch.autograd import Function


class SigmoidGeometricMean(Function):
    """Elementwise ``sqrt(sigmoid(x) * sigmoid(y))`` of two tensors of the same shape."""

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor) -> Tensor:
        x_sigmoid = x.sigmoid()
        y_sigmoid = y.sigmoid()
        z = (x_sigmoid * y_sigmoid).sqrt()
        ctx.save_for_backward(x_sigmoid, y_sigmoid, z)
        return z

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        x_sigmoid, y_sigmoid, z = ctx.saved_tensors
        grad_x = grad_output * z * (1 - x_sigmoid) / 2
        grad_y = grad_output * z * (1 - y_sigmoid) / 2
        return grad_x, grad_y


def sigmoid_geometric_mean(x: Tensor, y: Tensor) -> Tensor:
    """``sqrt(sigmoid(x) * sigmoid(y))``, broadcast as ``torch.mul``."""
    x, y = torch.broadcast_tensors(x, y)
    return SigmoidGeometricMean.apply(x, y)

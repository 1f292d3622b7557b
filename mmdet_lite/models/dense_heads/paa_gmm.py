"""The two-component 1-D Gaussian mixture that PAA fits to the losses of a ground truth's
candidate anchors (mmdetection 2.x calls scikit-learn's ``GaussianMixture``; this is its EM for
one feature, so PAA trains without scikit-learn).

Same algorithm and defaults as ``sklearn.mixture.GaussianMixture(2, weights_init,
means_init, precisions_init, covariance_type)`` with ``tol=1e-3``, ``reg_covar=1e-6``,
``max_iter=100``: start from the given parameters, alternate E and M steps until the mean
log-likelihood changes by less than ``tol``, then a last E step. In one dimension 'full',
'diag' and 'spherical' covariances are the same; 'tied' shares one variance.
"""
import math
from typing import Tuple

import torch
from torch import Tensor

_TOL = 1e-3
_REG_COVAR = 1e-6
_MAX_ITER = 100
_COVARIANCE_TYPES = ('full', 'diag', 'spherical', 'tied')


def _log_gaussian(x: Tensor, x_sq: Tensor, means: Tensor, precisions: Tensor,
                  covariance_type: str) -> Tensor:
    """log N(x | mean_k, 1 / precision_k) of n values (n, 1) → (n, 2), in scikit-learn's
    arithmetic: 'diag'/'spherical' expand the square (``x_sq`` is x * x rounded to float32, as
    scikit-learn squares the float32 input), 'full'/'tied' whiten and store in float32."""
    prec_chol = precisions.sqrt()
    if covariance_type in ('diag', 'spherical'):
        mahalanobis = means ** 2 * precisions - 2 * x * (means * precisions) + x_sq * precisions
    else:
        y = x * prec_chol - means * prec_chol
        mahalanobis = (y * y).float().double()
    return -0.5 * (math.log(2 * math.pi) + mahalanobis) + torch.log(prec_chol)


def fit_two_gaussians(values: Tensor, covariance_type: str = 'diag') -> Tuple[Tensor, Tensor]:
    """Fit two Gaussians to n values (n,) starting at their min and max (weights 0.5,
    precisions 1) and return each value's component (n,) (0: the one started at the min) and
    its log-likelihood under the mixture (n,), float64.

    The values are taken as float32, as PAA hands them to scikit-learn, whose float32
    rounding of the squares decides where a collapsing component's variance ends up.
    """
    if covariance_type not in _COVARIANCE_TYPES:
        raise ValueError(f'covariance_type must be one of {_COVARIANCE_TYPES}, got '
                         f'{covariance_type!r}')
    x32 = values.detach().float().reshape(-1, 1)
    x = x32.double()
    x_sq = (x32 * x32).double()
    n = x.shape[0]
    weights = x.new_tensor([0.5, 0.5])
    means = torch.cat([x.min().view(1), x.max().view(1)])
    precisions = x.new_tensor([1.0, 1.0])
    eps = torch.finfo(torch.float64).eps

    def weighted_log_prob() -> Tensor:
        return _log_gaussian(x, x_sq, means, precisions, covariance_type) + torch.log(weights)

    lower_bound = -math.inf
    for _ in range(_MAX_ITER):
        prev_lower_bound = lower_bound
        log_prob = weighted_log_prob()
        log_norm = torch.logsumexp(log_prob, dim=1, keepdim=True)
        resp = torch.exp(log_prob - log_norm)
        nk = resp.sum(0) + 10 * eps
        means = (resp * x).sum(0) / nk
        if covariance_type == 'tied':
            total_sq = (x32 * x32).sum().double()  # float32 matrix product in scikit-learn
            variances = ((total_sq - (nk * means ** 2).sum()) / nk.sum() + _REG_COVAR).expand(2)
        elif covariance_type == 'full':
            variances = (resp * (x - means) ** 2).sum(0) / nk + _REG_COVAR
        else:
            variances = (resp * x_sq).sum(0) / nk - means ** 2 + _REG_COVAR
        if (variances <= 0).any():
            raise ValueError('PAA: a Gaussian of the loss split collapsed to zero variance '
                             '(scikit-learn refuses the same fit); increase the candidates '
                             '(topk) or check the losses for duplicates')
        precisions = 1.0 / variances
        weights = nk / nk.sum()
        lower_bound = float(log_norm.mean())
        if abs(lower_bound - prev_lower_bound) < _TOL:
            break
    log_prob = weighted_log_prob()
    return log_prob.argmax(dim=1), torch.logsumexp(log_prob, dim=1)

"""Small helpers shared by heads: ``multi_apply``, ``unmap``, per-image selection, top-k,
``is_tracing``."""
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from ...core.utils.errors import ConfigValueError, UnsupportedTypeError


def is_tracing() -> bool:
    """Under ONNX / TorchScript / torch.export or torch.compile tracing, where eager-only
    shortcuts (private oneDNN ops, Python threads) must not end up in the graph."""
    return (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_compiling() or torch.compiler.is_exporting())


def multi_apply(func: Callable, *args, **kwargs) -> Tuple[list, ...]:
    """Apply ``func`` to each element of the zipped ``args`` and regroup the outputs.

    ``func`` must return a tuple; ``multi_apply`` returns a tuple of lists, one list per
    output of ``func`` and one element per call. Keyword arguments are passed to every call.
    Use it over FPN levels or over images only.
    """
    pfunc = partial(func, **kwargs) if kwargs else func
    map_results = map(pfunc, *args)
    return tuple(map(list, zip(*map_results)))


def unmap(data: Tensor, count: int, inds: Tensor, fill: Union[int, float] = 0) -> Tensor:
    """Scatter ``data`` (a subset of ``count`` items) back into a full-size tensor.

    Args:
        data: (K, ...) values of the selected items.
        count: size of the full set.
        inds: (count,) bool (or 0/1) mask of the K selected items.
        fill: value of the items that were not selected.

    Returns:
        (count, ...) tensor.
    """
    mask = inds.type(torch.bool)
    ret = data.new_full((count, ) + tuple(data.size()[1:]), fill)
    ret[mask] = data
    return ret


def flip_tensor(src_tensor: Tensor, flip_direction: str) -> Tensor:
    """Flip a (N, C, H, W) tensor 'horizontal', 'vertical' or 'diagonal'."""
    if src_tensor.ndim != 4:
        raise ConfigValueError(f'flip_tensor expects a (N, C, H, W) tensor, got shape '
                               f'{tuple(src_tensor.shape)}')
    dims = {'horizontal': [3], 'vertical': [2], 'diagonal': [2, 3]}
    if flip_direction not in dims:
        raise ConfigValueError(
            f"flip_direction must be one of {list(dims)}, got '{flip_direction}'")
    return torch.flip(src_tensor, dims[flip_direction])


def select_single_mlvl(mlvl_tensors: Sequence[Tensor], batch_id: int,
                       detach: bool = True) -> List[Tensor]:
    """Of one image: pick image ``batch_id`` out of every level of a batched multi-level list.

    Args:
        mlvl_tensors: per level a (N, ...) tensor.
        batch_id: index of the image.
        detach: detach the picked tensors from the graph.

    Returns:
        per level the (...) tensor of that image.
    """
    if not isinstance(mlvl_tensors, (list, tuple)):
        raise TypeError(f'mlvl_tensors must be a list or tuple of per-level tensors, got '
                        f'{type(mlvl_tensors).__name__}')
    if detach:
        return [level[batch_id].detach() for level in mlvl_tensors]
    return [level[batch_id] for level in mlvl_tensors]


def sorted_topk(values: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` largest of ``values`` (M,), descending, ties by ascending index: exactly the
    first ``k`` of ``values.sort(descending=True, stable=True)``, found with ``topk`` and a
    count instead of a sort of all M (a sort of 10^7 scores takes a second on a CPU core).

    Returns:
        values (min(k, M),) and their indices (min(k, M),) into ``values``.
    """
    if values.dim() != 1:
        raise ValueError(f'sorted_topk takes a 1-d tensor, got shape {tuple(values.shape)}')
    if k <= 0 or values.numel() == 0:
        return values[:0], torch.zeros(0, dtype=torch.long, device=values.device)
    if k >= values.numel():
        return values.sort(descending=True, stable=True)
    top, idxs = values.topk(k, sorted=False)
    kth = top.min()
    if torch.isnan(kth):  # NaNs rank first in topk and sort: any NaN is among the top k
        top, idxs = values.sort(descending=True, stable=True)
        return top[:k], idxs[:k]
    at_least_kth = values >= kth
    if int(at_least_kth.sum()) == k:
        idxs = idxs.sort().values
    else:  # the k-th value is tied outside the top k: take the ties by index
        idxs = torch.nonzero(at_least_kth).squeeze(1)
    top, order = values[idxs].sort(descending=True, stable=True)
    return top[:k], idxs[order[:k]]


def filter_scores_and_topk(
        scores: Tensor, score_thr: float, topk: int,
        results: Optional[Union[Dict[str, Tensor], List[Tensor], Tensor]] = None
) -> Tuple[Tensor, Tensor, Tensor, Any]:
    """Keep the scores above ``score_thr``, then the ``topk`` highest of them.

    Args:
        scores: (K, C) per-prior per-class scores.
        score_thr: keep scores strictly greater than this.
        topk: keep at most this many (prior, class) pairs.
        results: tensors indexed by prior (first dim K) to filter along with the scores.

    Returns:
        scores (k,) sorted descending, labels (k,), keep_idxs (k,) indices of the priors, and
        the filtered ``results`` (same container type; ``None`` if none were given).
    """
    fast = scores.dim() == 2 and 0 <= topk < scores.numel()
    if fast:
        # The ``topk`` best of all scores, then those above the threshold: the same pairs as
        # thresholding first (every valid score outranks every other one), without listing and
        # sorting all valid scores (nearly all of RetinaNet's ~10^7 on an untrained model).
        num_classes = scores.size(1)
        flat_scores, flat_idxs = sorted_topk(scores.reshape(-1), topk)
        # NaNs lead the top k but fail the threshold: then threshold first, below.
        fast = not bool(torch.isnan(flat_scores[:1]).any())
    if fast:
        num_valid = int((flat_scores > score_thr).sum())
        scores, flat_idxs = flat_scores[:num_valid], flat_idxs[:num_valid]
        keep_idxs = torch.div(flat_idxs, num_classes, rounding_mode='floor')
        labels = flat_idxs - keep_idxs * num_classes
    else:
        valid_mask = scores > score_thr
        scores = scores[valid_mask]
        valid_idxs = torch.nonzero(valid_mask)
        num_topk = min(topk, valid_idxs.size(0))
        scores, idxs = scores.sort(descending=True, stable=True)
        scores = scores[:num_topk]
        topk_idxs = valid_idxs[idxs[:num_topk]]
        keep_idxs, labels = topk_idxs.unbind(dim=1)

    filtered_results = None
    if results is not None:
        if isinstance(results, dict):
            filtered_results = {k: v[keep_idxs] for k, v in results.items()}
        elif isinstance(results, list):
            filtered_results = [result[keep_idxs] for result in results]
        elif isinstance(results, torch.Tensor):
            filtered_results = results[keep_idxs]
        else:
            raise UnsupportedTypeError(
                'results of filter_scores_and_topk must be a dict, list or Tensor, '
                f'got {type(results).__name__}')
    return scores, labels, keep_idxs, filtered_results


def center_of_mass(mask: Tensor, esp: float = 1e-6) -> Tuple[Tensor, Tensor]:
    """Centre of mass (row, column) of a (H, W) mask."""
    h, w = mask.shape
    grid_h = torch.arange(h, device=mask.device)[:, None]
    grid_w = torch.arange(w, device=mask.device)
    normalizer = mask.sum().float().clamp(min=esp)
    center_h = (mask * grid_h).sum() / normalizer
    center_w = (mask * grid_w).sum() / normalizer
    return center_h, center_w


def generate_coordinate(featmap_sizes: Sequence[int], device: Union[str, torch.device] = 'cpu'
                        ) -> Tensor:
    """(N, 2, H, W) coordinates in [-1, 1] (x then y) for a featmap of size (N, C, H, W)."""
    x_range = torch.linspace(-1, 1, featmap_sizes[-1], device=device)
    y_range = torch.linspace(-1, 1, featmap_sizes[-2], device=device)
    y, x = torch.meshgrid(y_range, x_range, indexing='ij')
    y = y.expand([featmap_sizes[0], 1, -1, -1])
    x = x.expand([featmap_sizes[0], 1, -1, -1])
    return torch.cat([x, y], 1)

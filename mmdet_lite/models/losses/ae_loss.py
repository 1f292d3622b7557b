"""Associative embedding loss of CornerNet (Law & Deng, ECCV 2018; Newell et al., NeurIPS
2017): pull the two corner embeddings of an object together, push different objects apart."""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_lite.registry import MODELS

# one object's corner pair: ((tl_y, tl_x), (br_y, br_x)) on the feature map
CornerMatch = Sequence[Sequence[int]]


def ae_loss_per_image(tl_preds: Tensor, br_preds: Tensor,
                      match: Sequence[CornerMatch]) -> Tuple[Tensor, Tensor]:
    """Of one image: the pull and push losses.

    Args:
        tl_preds: (M, H, W) top-left corner embeddings.
        br_preds: (M, H, W) bottom-right corner embeddings.
        match: per object ``[[tl_y, tl_x], [br_y, br_x]]``.

    Returns:
        pull: ``sum_k (e_tl - e_k)^2 + (e_br - e_k)^2`` over ``N`` objects, / N, where ``e_k``
        is the mean of the pair; push: ``sum_{k != j} relu(1 - |e_k - e_j|) / (N (N - 1))``
        (0 with fewer than two objects). Both are zeros in the graph without objects.
    """
    if len(match) == 0:
        zero = tl_preds.sum() * 0.0
        return zero, zero.clone()
    tl_pos = torch.as_tensor([m[0] for m in match], dtype=torch.long, device=tl_preds.device)
    br_pos = torch.as_tensor([m[1] for m in match], dtype=torch.long, device=br_preds.device)
    # (N * M, 1), object-major: as in 2.x, each embedding channel counts as its own entry
    # (CornerNet's embeddings have M = 1 channel)
    tl_emb = tl_preds[:, tl_pos[:, 0], tl_pos[:, 1]].t().reshape(-1, 1)
    br_emb = br_preds[:, br_pos[:, 0], br_pos[:, 1]].t().reshape(-1, 1)
    mean_emb = (tl_emb + br_emb) / 2.0
    num_objs = tl_emb.size(0)
    pull = ((tl_emb - mean_emb).pow(2) + (br_emb - mean_emb).pow(2)).sum() / num_objs
    if num_objs < 2:
        return pull, tl_preds.sum() * 0.0
    margin = 1
    dist = (mean_emb[:, None, 0] - mean_emb[None, :, 0]).abs()  # (N, N)
    off_diag = 1 - torch.eye(num_objs, dtype=mean_emb.dtype, device=mean_emb.device)
    push = F.relu(off_diag * (margin - dist)).sum() / (num_objs * (num_objs - 1))
    return pull, push


@MODELS.register_module()
class AssociativeEmbeddingLoss(nn.Module):
    """Associative embedding (pull / push) loss.

    Args:
        pull_weight: weight of the pull loss.
        push_weight: weight of the push loss.
    """

    def __init__(self, pull_weight: float = 0.25, push_weight: float = 0.25) -> None:
        super().__init__()
        self.pull_weight = pull_weight
        self.push_weight = push_weight

    def forward(self, pred: Tensor, target: Tensor,
                match: List[Sequence[CornerMatch]]) -> Tuple[Tensor, Tensor]:
        """Weighted pull and push losses summed over the batch.

        Args:
            pred: (N, M, H, W) top-left embeddings.
            target: (N, M, H, W) bottom-right embeddings.
            match: per image, per object ``[[tl_y, tl_x], [br_y, br_x]]``.
        """
        pull_all, push_all = 0.0, 0.0
        for i in range(pred.size(0)):
            pull, push = ae_loss_per_image(pred[i], target[i], match[i])
            pull_all = pull_all + self.pull_weight * pull
            push_all = push_all + self.push_weight * push
        return pull_all, push_all

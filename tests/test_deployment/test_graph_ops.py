"""``graph_ops.batched_nms`` (one NMS per image and class): eagerly equal to torchvision's NMS
of each batch entry, and its ONNX (``NonMaxSuppression`` with B batches) run by ONNX Runtime
equal to the eager result, including the strict score threshold and the per-batch cap."""
import numpy as np
import pytest
import torch
from torch import nn
from torchvision.ops import nms

from mmdet_lite.deployment.graph_ops import batched_nms
from mmdet_lite.deployment.onnx_export import batched_nms_to_onnx

onnxruntime = pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')


class _NMS(nn.Module):

    def __init__(self, iou_threshold: float, score_threshold: float, max_per_batch: int):
        super().__init__()
        self.args = (iou_threshold, score_threshold, max_per_batch)

    def forward(self, boxes: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return batched_nms(boxes, scores, *self.args)


def _inputs(num_batches: int = 3, num_boxes: int = 40, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(num_batches, num_boxes, 2, generator=gen) * 50
    wh = torch.rand(num_batches, num_boxes, 2, generator=gen) * 30 + 1
    boxes = torch.cat([xy, xy + wh], dim=-1)
    scores = torch.rand(num_batches, num_boxes, generator=gen)
    scores[0, :5] = 0.25            # exactly at the threshold below: not a candidate
    scores[1, :] = -1.0             # an entry with no candidate (the graph's invalid RoIs)
    return boxes, scores


def test_batched_nms_is_torchvision_nms_per_batch():
    boxes, scores = _inputs()
    kept = batched_nms(boxes, scores, 0.5, 0.25, 4)
    expected = []
    for b in range(boxes.shape[0]):
        cand = torch.nonzero(scores[b] > 0.25).reshape(-1)
        keep = cand[nms(boxes[b, cand], scores[b, cand], 0.5)][:4]
        expected += [[b, int(i)] for i in keep]
    assert kept.tolist() == expected
    assert len(expected) == 8 and all(b != 1 for b, _ in expected)
    assert batched_nms(boxes[:0], scores[:0], 0.5, 0.25, 4).shape == (0, 2)


@pytest.mark.parametrize('max_per_batch', [3, -1])
def test_batched_nms_onnx_equals_eager(tmp_path, max_per_batch):
    boxes, scores = _inputs()
    module = _NMS(0.5, 0.25, max_per_batch).eval()
    onnx_file = str(tmp_path / 'nms.onnx')
    dim = torch.export.Dim.AUTO
    torch.onnx.export(module, (boxes, scores), onnx_file, dynamo=True,
                      input_names=['boxes', 'scores'], output_names=['kept'],
                      dynamic_shapes=({0: dim, 1: dim}, {0: dim, 1: dim}),
                      custom_translation_table={torch.ops.mmdet_lite.batched_nms.default:
                                                batched_nms_to_onnx})
    session = onnxruntime.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    for seed, size in ((0, (3, 40)), (1, (5, 64))):
        boxes, scores = _inputs(*size, seed=seed)
        (kept, ) = session.run(None, dict(boxes=boxes.numpy(), scores=scores.numpy()))
        np.testing.assert_array_equal(kept, module(boxes, scores).numpy())

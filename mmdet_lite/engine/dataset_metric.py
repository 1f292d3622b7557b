"""The runner's metric adapter: an mmengine metric that scores predictions with the 2.x
dataset's own ``evaluate``."""
import copy
import numbers
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric

from ..core.mask.utils import encode_mask_results
from ..datasets.builder import build_dataset
from ..registry import METRICS
from .evaluation_config import dataset_evaluate_kwargs


def _encode_if_bitmaps(result: Any) -> Any:
    """RLE-encode ``(bbox_results, segm_results)`` whose masks are still arrays (saves memory)."""
    if isinstance(result, tuple) and len(result) == 2:
        bbox_results, segm_results = result
        segms = segm_results[0] if isinstance(segm_results, tuple) else segm_results
        if any(isinstance(m, np.ndarray) for cls in segms for m in cls):
            return bbox_results, encode_mask_results(segm_results)
    return result


@METRICS.register_module()
class DatasetMetric(BaseMetric):
    """Collect per-image results, then return ``dataset.evaluate(results, metric, **eval_kwargs)``.

    Args:
        dataset: config dict of the dataset the predictions are for (built once, lazily).
        metric: metric name(s) understood by that dataset's ``evaluate``.
        eval_kwargs: extra arguments of ``evaluate`` (``classwise``, ``iou_thrs``, ...).
    """
    default_prefix: Optional[str] = None

    def __init__(self, dataset: dict, metric: Union[str, Sequence[str]] = 'bbox',
                 collect_device: str = 'cpu', prefix: Optional[str] = None, **eval_kwargs):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.dataset_cfg = copy.deepcopy(dataset)
        self.metric = list(metric) if isinstance(metric, (list, tuple)) else metric
        self.eval_kwargs = dataset_evaluate_kwargs(eval_kwargs)
        self._dataset = None

    @property
    def dataset(self):
        if self._dataset is None:
            cfg = copy.deepcopy(self.dataset_cfg)
            cfg['test_mode'] = True
            self._dataset = build_dataset(cfg)
        return self._dataset

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Store one batch of per-image results (the detector's predict-mode outputs)."""
        self.results.extend(_encode_if_bitmaps(r) for r in data_samples)

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Numeric items of ``dataset.evaluate`` (``*_copypaste`` strings dropped)."""
        dataset = self.dataset
        if len(results) != len(dataset):
            raise ValueError(f'DatasetMetric got {len(results)} results for a dataset of '
                             f'{len(dataset)} images ({self.dataset_cfg.get("ann_file")}); the '
                             f'val dataloader must cover the whole dataset once, in order')
        out = dataset.evaluate(results, metric=self.metric, logger='current', **self.eval_kwargs)
        return {k: float(v) for k, v in out.items()
                if isinstance(v, (numbers.Number, np.number)) and not isinstance(v, bool)}

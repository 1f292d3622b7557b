"""mmdetection 2.x's ``mmdet.core.evaluation`` import paths, served by ``mmdet_lite.core``."""
import numpy as np

import mmdet_lite.core.evaluation as core_evaluation
import mmdet_lite.evaluation as evaluation
from mmdet_lite.core.evaluation.bbox_overlaps import bbox_overlaps
from mmdet_lite.core.evaluation.class_names import get_classes
from mmdet_lite.core.evaluation.mean_ap import eval_map, tpfp_default
from mmdet_lite.core.evaluation.recall import eval_recalls

TWO_X_NAMES = ('voc_classes', 'coco_classes', 'get_classes', 'average_precision', 'eval_map',
               'print_map_summary', 'eval_recalls', 'print_recall_summary', 'bbox_overlaps')


def test_2x_import_paths_serve_the_same_functions():
    for name in TWO_X_NAMES:
        assert getattr(core_evaluation, name) is getattr(evaluation, name), name
    assert (eval_map, eval_recalls, get_classes) == (evaluation.eval_map,
                                                     evaluation.eval_recalls,
                                                     evaluation.get_classes)
    assert tpfp_default is evaluation.tpfp_default
    assert get_classes('voc')[0] == 'aeroplane' and len(get_classes('coco')) == 80
    # the numpy IoU of 2.x (half-overlapping 2x2 boxes: 2 / 6)
    overlaps = bbox_overlaps(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2]]))
    np.testing.assert_allclose(overlaps, [[1 / 3]], rtol=1e-6)

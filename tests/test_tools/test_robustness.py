"""Corruption benchmark: one corruption at one severity on the tiny shapes model, aggregated by
robustness_eval; P / mPC / rPC checked on hand-made results."""
import numpy as np
import pytest
from PIL import Image

from mmdet_lite.analysis.robustness import COCO_METRICS, resolve_corruptions
from mmdet_lite.analysis.robustness_eval import get_coco_style_results, summarize
from mmdet_lite.convert.numpy_pickle import load_numpy_pickle

from .tool_loader import load_tool


def test_gaussian_noise_severity_1_on_tiny_model(tiny_shapes_checkpoint, tmp_path, one_thread):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    out = tmp_path / 'robust.pkl'
    aggregated = load_tool('tools/analysis_tools/test_robustness.py').main(
        [config, checkpoint, '--out', str(out), '--corruptions', 'gaussian_noise',
         '--severities', '0', '1', '--eval', 'bbox', '--device', 'cpu', '--seed', '0',
         '--show-dir', str(tmp_path / 'show'), '--final-prints', 'P', 'mPC', 'rPC',
         '--final-prints-aggregate', 'all'])
    assert list(aggregated) == ['gaussian_noise'] and sorted(aggregated['gaussian_noise']) == [0, 1]
    assert set(aggregated['gaussian_noise'][1]['bbox']) == set(COCO_METRICS)
    saved = load_numpy_pickle(str(tmp_path / 'robust_results.pkl'))
    assert saved == aggregated
    # the severity-1 run saw noisy images: its drawn inputs differ from the clean ones
    clean = sorted((tmp_path / 'show' / 'gaussian_noise' / '0').rglob('*.*'))
    noisy = sorted((tmp_path / 'show' / 'gaussian_noise' / '1').rglob('*.*'))
    assert [p.name for p in clean] == [p.name for p in noisy] and len(clean) == 4
    diff = np.abs(np.asarray(Image.open(clean[0]), np.float32) -
                  np.asarray(Image.open(noisy[0]), np.float32)).mean()
    assert diff > 5
    tables = load_tool('tools/analysis_tools/robustness_eval.py').main(
        [str(tmp_path / 'robust_results.pkl'), '--prints', 'P', 'mPC', 'rPC', '--aggregate',
         'all', '--metric', 'AP', 'AP50'])
    table = tables['bbox']
    assert table.shape == (1, 6, 2)
    assert table[0, 1, 1] == pytest.approx(aggregated['gaussian_noise'][1]['bbox']['AP50'])
    assert np.isnan(table[0, 2:]).all()


def test_p_mpc_rpc_hand_worked(capsys):
    def run(ap):
        return {'bbox': dict({m: 0.0 for m in COCO_METRICS}, AP=ap)}
    results = {'gaussian_noise': {0: run(0.4), 1: run(0.3), 3: run(0.1)},
               'fog': {0: run(0.4), 2: run(0.2)},
               'saturate': {0: run(0.4), 1: run(0.0)}}  # a holdout corruption
    table = get_coco_style_results(results, metric='AP', prints='all')
    bench = summarize(table, list(results), 'benchmark')
    assert bench.P[0] == pytest.approx(0.4)
    assert bench.mPC[0] == pytest.approx((0.3 + 0.1 + 0.2) / 3)  # runs not made are left out
    assert bench.rPC[0] == pytest.approx(0.5)
    assert summarize(table, list(results), 'all').mPC[0] == pytest.approx(0.6 / 4)
    assert 'AP    => 50.0 %' in capsys.readouterr().out


def test_corruption_sets():
    assert len(resolve_corruptions(['benchmark'], [0, 1])[0]) == 15
    assert resolve_corruptions(['holdout'], [3])[0] == ['speckle_noise', 'gaussian_blur',
                                                        'spatter', 'saturate']
    assert resolve_corruptions(['None'], [1, 2]) == (['None'], [0])
    with pytest.raises(ValueError, match='unknown corruptions'):
        resolve_corruptions(['rain'], [1])

"""Parsing mmengine / mmdetection 2.x json logs, curves and train-time statistics, by hand."""
import json

import numpy as np
import pytest

from mmdet_lite.analysis.log_analysis import (cal_train_time, curve, load_json_log, merge_logs,
                                              plot_curve)


def _write_lines(path, records):
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return str(path)


@pytest.fixture
def mmengine_log(tmp_path):
    """Two epochs of 4 iterations logged every 2, plus a validation line per epoch."""
    folder = tmp_path / '20240101_000000' / 'vis_data'
    folder.mkdir(parents=True)
    records = []
    times = {2: 0.5, 4: 0.3, 6: 0.4, 8: 0.2}
    for it in (2, 4, 6, 8):
        records.append(dict(lr=0.01, loss=1.0 / it, loss_cls=0.5 / it, time=times[it],
                            data_time=0.01, epoch=1 if it <= 4 else 2, iter=it, memory=0,
                            step=it))
        if it in (4, 8):
            records.append(dict(bbox_mAP=0.1 * it, bbox_mAP_50=0.2, time=0.1, data_time=0.0,
                                step=it // 4))
    return _write_lines(folder / 'scalars.json', records)


def test_mmengine_scalars_train_and_val_records(mmengine_log, tmp_path):
    log = load_json_log(mmengine_log)
    assert [r['iter'] for r in log.train] == [2, 4, 6, 8]
    assert [r['epoch'] for r in log.val] == [1, 2]
    assert 'loss_cls' in log.keys('train') and 'bbox_mAP' in log.keys('val')
    c = curve(log, 'loss_cls')
    assert c['xlabel'] == 'iter'
    np.testing.assert_allclose(c['y'], [0.25, 0.125, 0.5 / 6, 0.0625])
    c = curve(log, 'bbox_mAP')
    assert c['xlabel'] == 'epoch'
    np.testing.assert_allclose(c['x'], [1, 2])
    np.testing.assert_allclose(c['y'], [0.4, 0.8])
    # a work_dir resolves to its newest run's scalars.json
    assert load_json_log(str(tmp_path)).path == mmengine_log
    with pytest.raises(KeyError, match="does not log 'loss_mask'.*loss_cls"):
        curve(log, 'loss_mask')


def test_prefixed_metric_found_by_its_short_name(tmp_path):
    log = load_json_log(_write_lines(tmp_path / 'a.json', [
        dict(loss=1.0, time=0.1, epoch=1, iter=1, step=1),
        {'coco/bbox_mAP': 0.3, 'step': 1}]))
    c = curve(log, 'bbox_mAP')
    assert c['key'] == 'coco/bbox_mAP' and c['y'].tolist() == [0.3]


def test_mmdet2_log_json_iterations_made_global(tmp_path):
    records = [dict(env_info='...', config='...', seed=0)]
    for epoch in (1, 2):
        for it in (50, 100):
            records.append(dict(mode='train', epoch=epoch, iter=it, lr=0.02, time=0.1 * epoch,
                                loss_bbox=1.0 / (epoch * it)))
        records.append(dict(mode='val', epoch=epoch, iter=25, lr=0.02, bbox_mAP=0.1 * epoch))
    log = load_json_log(_write_lines(tmp_path / 'x.log.json', records))
    np.testing.assert_array_equal(curve(log, 'loss_bbox')['x'], [50, 100, 150, 200])
    np.testing.assert_allclose(curve(log, 'bbox_mAP')['y'], [0.1, 0.2])
    assert curve(log, 'bbox_mAP')['xlabel'] == 'epoch'


def test_cal_train_time_by_hand(mmengine_log):
    log = load_json_log(mmengine_log)
    # first logged interval of each epoch dropped: epoch 1 -> [0.3], epoch 2 -> [0.2]
    stats = cal_train_time(log)
    assert stats['slowest_epoch'] == 1 and stats['fastest_epoch'] == 2
    assert stats['slowest_epoch_time'] == pytest.approx(0.3)
    assert stats['epoch_time_std'] == pytest.approx(np.std([0.3, 0.2]))
    assert stats['average_iter_time'] == pytest.approx(0.25)
    # with the outliers: epoch 1 -> 0.4, epoch 2 -> 0.3
    stats = cal_train_time(log, include_outliers=True)
    assert stats['slowest_epoch_time'] == pytest.approx(0.4)
    assert stats['average_iter_time'] == pytest.approx(0.35)


def test_plot_curve_two_panels_and_legend_check(mmengine_log, tmp_path):
    log = load_json_log(mmengine_log)
    out = tmp_path / 'curve.png'
    fig = plot_curve([log], ['loss_cls', 'bbox_mAP'], title='t', out_file=str(out))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    labels = [ax.get_legend_handles_labels()[1] for ax in fig.axes]
    assert labels == [['20240101_000000_loss_cls'], ['20240101_000000_bbox_mAP']]
    assert [ax.get_xlabel() for ax in fig.axes] == ['iter', 'epoch']
    with pytest.raises(ValueError, match='legend'):
        plot_curve([log], ['loss_cls', 'bbox_mAP'], legend=['only one'])


def test_merge_the_parts_of_a_resumed_run(tmp_path):
    first = load_json_log(_write_lines(tmp_path / 'a.json', [
        dict(loss=1.0, time=0.1, epoch=1, iter=1, step=1),
        dict(loss=0.9, time=0.1, epoch=1, iter=2, step=2),
        dict(bbox_mAP=0.1, step=1)]))
    second = load_json_log(_write_lines(tmp_path / 'b.json', [  # resumed from epoch 1
        dict(loss=0.8, time=0.1, epoch=2, iter=3, step=3),
        dict(loss=0.7, time=0.1, epoch=2, iter=4, step=4),
        dict(bbox_mAP=0.3, step=2)]))
    merged = merge_logs([second, first])
    np.testing.assert_array_equal(curve(merged, 'loss')['x'], [1, 2, 3, 4])
    np.testing.assert_allclose(curve(merged, 'loss')['y'], [1.0, 0.9, 0.8, 0.7])
    np.testing.assert_allclose(curve(merged, 'bbox_mAP')['y'], [0.1, 0.3])
    assert merged.name == 'b.json+a.json'

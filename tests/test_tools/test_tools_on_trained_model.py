"""The analysis tools and publish_model on the tiny model trained in-test (tests/conftest.py)."""
import glob
import os
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.analysis.confusion_matrix import calculate_confusion_matrix
from mmdet_lite.analysis.log_analysis import load_json_log, plot_curve
from mmdet_lite.apis import inference_detector, init_detector
from mmdet_lite.datasets import build_dataset
from mmdet_lite.engine import load_checkpoint_safely

from .tool_loader import load_tool


def _runner_log(work_dir):
    logs = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(logs) == 1, logs
    return logs[0]


def test_plot_curve_and_train_time_from_the_runner_log(tiny_shapes_checkpoint, tmp_path,
                                                       capsys):
    work_dir = tiny_shapes_checkpoint[2]
    log_file = _runner_log(work_dir)
    keys = ['loss_cls', 'loss_bbox', 'bbox_mAP']
    out = tmp_path / 'curve.png'
    tool = load_tool('tools/analysis_tools/analyze_logs.py')
    tool.main(['plot_curve', log_file, '--keys'] + keys + ['--out', str(out), '--title', 't'])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    log = load_json_log(work_dir)  # a work_dir resolves to its run's scalars.json
    assert log.path == log_file
    assert [r['iter'] for r in log.train] == [1, 2, 3, 4]  # logged every iteration
    assert [r['epoch'] for r in log.val] == [1]
    fig = plot_curve([log], keys, legend=['cls', 'bbox', 'mAP'])
    labels = [ax.get_legend_handles_labels()[1] for ax in fig.axes]
    assert labels == [['cls', 'bbox'], ['mAP']]
    # the plotted values are the logged ones
    cls_line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(cls_line.get_ydata(), [r['loss_cls'] for r in log.train])

    tool.main(['cal_train_time', log_file])
    printed = capsys.readouterr().out
    times = [r['time'] for r in log.train][1:]
    assert f'average iter time: {np.mean(times):.4f} s/iter' in printed


def test_browse_dataset_writes_one_file_per_image(tiny_shapes_checkpoint, tmp_path):
    config = tiny_shapes_checkpoint[0]
    out_dir = tmp_path / 'browse'
    tool = load_tool('tools/analysis_tools/browse_dataset.py')
    tool.main([config, '--output-dir', str(out_dir), '--not-show'])
    cfg = Config.fromfile(config)
    dataset = build_dataset(cfg.data.train)
    expected = sorted(osp.basename(info['filename']) for info in dataset.data_infos)
    assert sorted(os.listdir(out_dir)) == expected and len(expected) == 8
    # drawn at the training pipeline's size (Resize to 64 + Pad to 32: 64 x 64)
    import mmcv
    drawn = mmcv.imread(str(out_dir / expected[0]))
    assert drawn.shape == (64, 64, 3)


def test_publish_model_output_loads_without_optimizer(tiny_shapes_checkpoint, tmp_path,
                                                     one_thread):
    config, checkpoint, _, data_root = tiny_shapes_checkpoint
    original = load_checkpoint_safely(checkpoint)
    assert 'optimizer' in original and 'message_hub' in original
    tool = load_tool('tools/model_converters/publish_model.py')
    final = tool.main([checkpoint, str(tmp_path / 'tiny_mask_rcnn.pth')])
    assert re.fullmatch(r'tiny_mask_rcnn-[0-9a-f]{8}\.pth', osp.basename(final))
    published = load_checkpoint_safely(final)
    assert not {'optimizer', 'message_hub', 'param_schedulers'} & set(published)
    assert published['meta']['CLASSES'] == original['meta']['CLASSES']
    assert osp.getsize(final) < osp.getsize(checkpoint)
    model = init_detector(config, final, device='cpu')
    reference = init_detector(config, checkpoint, device='cpu')
    assert model.CLASSES == ('circle', 'triangle', 'square', 'star')
    img = osp.join(data_root, 'val', '000000.png')
    for a, b in zip(inference_detector(model, img)[0], inference_detector(reference, img)[0]):
        np.testing.assert_array_equal(a, b)


def test_get_flops_on_the_tiny_config(tiny_shapes_checkpoint, capsys, one_thread):
    config = tiny_shapes_checkpoint[0]
    tool = load_tool('tools/analysis_tools/get_flops.py')
    tool.main([config, '--shape', '60', '90'])
    printed = capsys.readouterr().out
    assert 'Input shape: (3, 64, 96)' in printed
    model = init_detector(config, device='cpu')
    params = sum(p.numel() for p in model.parameters())
    from mmdet_lite.analysis.flops import human_count, model_complexity
    assert f'Params: {human_count(params)}' in printed
    # the backbone's stem alone (7x7 conv, 3 -> 8 channels, stride 2 on 64 x 96) is a lower
    # bound; every part is listed and the parts add up to the total
    info = model_complexity(model, (3, 64, 96))
    assert info['flops_per_module']['backbone'] > 2 * 3 * 49 * 8 * 32 * 48
    assert set(info['flops_per_module']) >= {'backbone', 'neck', 'rpn_head', 'roi_head'}
    assert sum(info['flops_per_module'].values()) == info['flops']
    assert f'Flops: {human_count(info["flops"], "FLOPs")}' in printed


def test_confusion_matrix_tool(tiny_shapes_checkpoint, tmp_path, one_thread):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    cfg = Config.fromfile(config)
    dataset = build_dataset(dict(cfg.data.test, test_mode=True))
    model = init_detector(config, checkpoint, device='cpu')
    files = [osp.join(dataset.img_prefix, info['filename']) for info in dataset.data_infos]
    results = inference_detector(model, files)
    pkl = tmp_path / 'results.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump(results, f)
    save_dir = tmp_path / 'cm'
    tool = load_tool('tools/analysis_tools/confusion_matrix.py')
    tool.main([config, str(pkl), str(save_dir), '--score-thr', '0.05', '--tp-iou-thr', '0.5'])
    matrix = np.load(save_dir / 'confusion_matrix.npy')
    assert (save_dir / 'confusion_matrix.png').stat().st_size > 0
    np.testing.assert_array_equal(
        matrix, calculate_confusion_matrix(dataset, results, score_thr=0.05, tp_iou_thr=0.5))
    # every ground-truth box is counted at least once: matched, or a false negative
    num_gt = sum(len(dataset.get_ann_info(i)['labels']) for i in range(len(dataset)))
    assert matrix[:-1].sum() >= num_gt and matrix.shape == (5, 5)


def test_print_config_of_an_inherited_config(tiny_shapes_checkpoint, tmp_path, capsys):
    config = tiny_shapes_checkpoint[0]
    tool = load_tool('tools/analysis_tools/print_config.py')
    tool.main([config, '--cfg-options', 'data.samples_per_gpu=4'])
    printed = tmp_path / 'printed.py'
    printed.write_text(capsys.readouterr().out)
    expected = Config.fromfile(config)
    expected.merge_from_dict({'data.samples_per_gpu': 4})
    reloaded = Config.fromfile(str(printed))
    assert reloaded.to_dict() == expected.to_dict()
    assert reloaded.model.backbone.depth == 18 and reloaded.data.samples_per_gpu == 4
    assert torch.is_grad_enabled()


def test_test_tool_fuse_conv_bn_keeps_the_metrics(tiny_shapes_checkpoint, tmp_path, one_thread):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    tool = load_tool('tools/test.py')
    # BN folding and channels_last are on by default; the 2.x path has both off
    plain = tool.main([config, checkpoint, '--eval', 'bbox', '--no-fuse-conv-bn',
                       '--no-channels-last', '--work-dir', str(tmp_path / 'a')])
    fused = tool.main([config, checkpoint, '--eval', 'bbox', '--fuse-conv-bn',
                       '--work-dir', str(tmp_path / 'b')])
    assert plain['bbox_mAP'] == pytest.approx(fused['bbox_mAP'], abs=1e-3)
    assert plain['bbox_mAP_50'] == pytest.approx(fused['bbox_mAP_50'], abs=1e-3)

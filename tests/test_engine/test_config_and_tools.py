"""Config dialect (_base_, --cfg-options, key checks) and the train/test command lines."""
import importlib.util
import os.path as osp
import pickle
import warnings

import pytest
from mmengine.config import Config

from mmdet_lite.engine import build_runner, runner_kwargs
from tests.test_engine.toy import toy_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}',
                                                  osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_config(path, work_dir, **overrides):
    cfg = Config(toy_cfg(str(work_dir), **overrides))
    cfg['custom_imports'] = dict(imports=['tests.test_engine.toy'], allow_failed_imports=False)
    cfg.dump(str(path))
    return str(path)


def test_base_inheritance_and_cfg_options(tmp_path):
    base = _write_config(tmp_path / 'base.py', tmp_path / 'wd')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['./base.py']\n"
                     "optimizer = dict(lr=0.05)\n"
                     "lr_config = dict(_delete_=True, policy='fixed')\n")
    train = _tool('train')
    args = train.parse_args([str(child), '--cfg-options', 'optimizer.momentum=0.5',
                             'lr_config.warmup=linear', 'lr_config.warmup_iters=3',
                             'data.train.pipeline.0.scale=2.0',
                             "workflow=[('train',1),('val',1)]", 'data.samples_per_gpu=4',
                             'checkpoint_config.max_keep_ckpts=2'])
    cfg = train.load_config(args.config, args.cfg_options)
    assert osp.basename(base) == 'base.py'
    assert cfg.optimizer == dict(type='SGD', lr=0.05, momentum=0.5, weight_decay=1e-4)
    assert cfg.lr_config == dict(policy='fixed', warmup='linear', warmup_iters=3)
    assert cfg.data.train.pipeline[0].scale == 2.0
    assert cfg.workflow == [('train', 1), ('val', 1)]
    assert cfg.data.samples_per_gpu == 4 and cfg.data.val.start == 100
    assert cfg.checkpoint_config == dict(interval=1, max_keep_ckpts=2)
    kwargs = runner_kwargs(cfg)
    assert kwargs['train_dataloader']['batch_size'] == 4
    assert kwargs['optim_wrapper']['optimizer']['lr'] == 0.05
    assert any(h['type'] == 'ValLossHook' for h in kwargs['custom_hooks'])


def test_translation_of_runtime_keys(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        kwargs = runner_kwargs(Config(toy_cfg(
            str(tmp_path), fp16=dict(loss_scale='dynamic'),
            optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)),
            evaluation=dict(interval=2, metric=['bbox'], save_best='auto', classwise=True),
            log_config=dict(interval=7, hooks=[dict(type='TextLoggerHook')]),
            checkpoint_config=dict(interval=3, max_keep_ckpts=1),
            data=dict(toy_cfg('x')['data'], val_dataloader=dict(samples_per_gpu=3)),
            auto_scale_lr=dict(enable=True, base_batch_size=16))))
    optim = kwargs['optim_wrapper']
    assert optim['clip_grad'] == dict(max_norm=35, norm_type=2)
    assert optim['type'] == 'OptimWrapper'  # CPU: fp16 falls back with a warning
    assert any('fp16' in str(w.message) for w in caught)
    assert optim['optimizer']['lr'] == pytest.approx(0.01 * 2 / 16)  # 1 process x 2 / 16
    assert kwargs['train_cfg'] == dict(type='EpochBasedTrainLoop', max_epochs=2,
                                       val_interval=2, val_begin=1)
    assert kwargs['val_evaluator']['type'] == 'DatasetMetric'
    assert kwargs['val_evaluator']['metric'] == ['bbox']
    assert kwargs['val_evaluator']['classwise'] is True
    assert kwargs['val_evaluator']['dataset']['test_mode'] is True
    assert kwargs['val_dataloader']['batch_size'] == 3
    assert kwargs['val_dataloader']['sampler'] == dict(type='DefaultSampler', shuffle=False)
    assert kwargs['train_dataloader']['sampler'] == dict(type='DefaultSampler', shuffle=True)
    ckpt = kwargs['default_hooks']['checkpoint']
    assert (ckpt['interval'], ckpt['max_keep_ckpts'], ckpt['save_best'], ckpt['rule']) == \
        (3, 1, 'auto', 'greater')
    assert kwargs['default_hooks']['logger']['interval'] == 7
    assert kwargs['env_cfg']['dist_cfg']['backend'] == 'gloo'  # nccl -> gloo without CUDA
    assert kwargs['randomness'] == dict(seed=0, deterministic=False)
    assert kwargs['default_scope'] == 'mmdet_lite'


def test_unknown_runtime_key(tmp_path):
    with pytest.raises(KeyError, match='lr_confg'):
        build_runner(Config(toy_cfg(str(tmp_path), lr_confg=dict(policy='step'))))
    with pytest.raises(KeyError, match='max_keep'):
        build_runner(Config(toy_cfg(str(tmp_path), optimizer_config=dict(max_keep=1))))
    with pytest.raises(ValueError, match='IterBasedRunnr'):
        build_runner(Config(toy_cfg(str(tmp_path), runner=dict(type='IterBasedRunnr'))))


def test_mmengine_key_is_error_and_helper_variable_warns(tmp_path):
    with pytest.raises(KeyError, match="'optim_wrapper' is an mmengine-style key"):
        build_runner(Config(toy_cfg(str(tmp_path), optim_wrapper=dict(type='OptimWrapper'))))
    with pytest.warns(UserWarning, match="my_scale"):
        build_runner(Config(toy_cfg(str(tmp_path), my_scale=(128, 128))))


def test_unknown_type_suggests_names(tmp_path):
    with pytest.raises(KeyError, match="ToyDetector"):
        build_runner(Config(toy_cfg(str(tmp_path), model=dict(type='ToyDetectr'))))


def test_missing_config_file(tmp_path):
    missing = str(tmp_path / 'no_such_config.py')
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        _tool('train').main([missing])
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        _tool('test').main([missing, 'x.pth', '--eval', 'bbox'])


def test_train_then_test_tool(tmp_path):
    config = _write_config(tmp_path / 'toy_config.py', tmp_path / 'unused')
    work_dir = str(tmp_path / 'wd')
    _tool('train').main([config, '--work-dir', work_dir, '--seed', '1',
                         '--cfg-options', 'runner.max_epochs=1'])
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    test = _tool('test')
    out = str(tmp_path / 'results.pkl')
    metric = test.main([config, ckpt, '--eval', 'bbox', '--out', out, '--work-dir', work_dir])
    assert metric['num'] == 5 and metric['unique'] == 5 and metric['in_order'] == 1.0
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert [int(r[0][0, 0]) for r in results] == list(range(100, 105))
    prefix = str(tmp_path / 'fmt')
    test.main([config, ckpt, '--format-only', '--eval-options', f'jsonfile_prefix={prefix}'])
    assert open(prefix + '.ids.json').read() == '[100, 101, 102, 103, 104]'
    with pytest.raises(SystemExit):  # --eval and --format-only exclude each other
        test.main([config, ckpt, '--eval', 'bbox', '--format-only'])


def test_logger_backends_and_num_class_check(tmp_path):
    kwargs = runner_kwargs(Config(toy_cfg(str(tmp_path), log_config=dict(
        interval=1, hooks=[dict(type='TextLoggerHook'), dict(type='TensorboardLoggerHook')]))))
    backends = [b['type'] for b in kwargs['visualizer']['vis_backends']]
    try:
        import tensorboard  # noqa: F401
        assert backends == ['LocalVisBackend', 'TensorboardVisBackend']
    except ImportError:
        assert backends == ['LocalVisBackend']
    runner = build_runner(Config(toy_cfg(str(tmp_path), model=dict(type='ToyDetector',
                                                                   num_classes=3))))
    with pytest.raises(ValueError, match='num_classes=3'):
        runner.train()


def test_one_list_of_evaluation_hook_keys():
    from mmdet_lite.engine import EVAL_HOOK_KEYS, dataset_evaluate_kwargs
    from mmdet_lite.engine.dataset_metric import DatasetMetric
    evaluation = dict(interval=2, start=1, save_best='auto', rule='greater', by_epoch=True,
                      gpu_collect=False, tmpdir=None, dynamic_intervals=[(3, 1)],
                      broadcast_bn_buffer=True, out_dir=None, greater_keys=['mAP'],
                      less_keys=['loss'], efficient_test=False, file_client_args=None,
                      metric=['bbox'], classwise=True, iou_thrs=[0.5])
    assert set(evaluation) - {'metric', 'classwise', 'iou_thrs'} == set(EVAL_HOOK_KEYS)
    assert dataset_evaluate_kwargs(evaluation) == dict(metric=['bbox'], classwise=True,
                                                       iou_thrs=[0.5])
    assert dataset_evaluate_kwargs(None) == {}
    metric = DatasetMetric(dataset=dict(type='CocoDataset'), **evaluation)
    assert metric.metric == ['bbox'] and metric.eval_kwargs == dict(classwise=True,
                                                                    iou_thrs=[0.5])


def test_num_class_check_exempts_2x_types_and_rejects_string_classes():
    import torch.nn as nn

    from mmdet_lite.datasets.utils import check_num_classes

    class RPNHead(nn.Module):  # exempt by type, wherever it sits
        num_classes = 1

    class StageRPN(RPNHead):  # a subclass too, as 2.x's isinstance check
        pass

    class Head(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.num_classes = n

    model = nn.Module()
    model.proposals = RPNHead()
    model.stage = StageRPN()
    model.bbox_head = Head(2)

    class TwoClasses:
        CLASSES = ('a', 'b')

    class OneClassNoComma:
        CLASSES = 'a'

    check_num_classes(model, TwoClasses())
    with pytest.raises(TypeError, match=r"CLASSES = \('a', \)"):
        check_num_classes(model, OneClassNoComma())
    model.bbox_head = Head(3)
    with pytest.raises(ValueError, match=r'model.bbox_head \(Head\) has num_classes=3'):
        check_num_classes(model, TwoClasses())

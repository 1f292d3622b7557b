"""Runtime: 2.x config translation onto mmengine's Runner, hooks mmengine lacks, safe checkpoints."""
from ..checkpoint import (AtomicLocalBackend, UnsafeCheckpointError, checkpoint_classes,
                          load_checkpoint, load_checkpoint_safely, save_checkpoint_atomic)
from .dataset_metric import DatasetMetric
from .evaluation_config import EVAL_HOOK_KEYS, dataset_evaluate_kwargs
from .lr_updater_hook import (CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook,
                              CyclicLrUpdaterHook, ExpLrUpdaterHook,
                              FixedLrUpdaterHook, FlatCosineAnnealingLrUpdaterHook,
                              InvLrUpdaterHook, LinearAnnealingLrUpdaterHook, LrUpdaterHook,
                              OneCycleLrUpdaterHook, PolyLrUpdaterHook, StepLrUpdaterHook,
                              YOLOXLrUpdaterHook)
from .momentum_updater_hook import (CosineAnnealingMomentumUpdaterHook,
                                    CyclicMomentumUpdaterHook,
                                    LinearAnnealingMomentumUpdaterHook, MomentumUpdaterHook,
                                    OneCycleMomentumUpdaterHook, StepMomentumUpdaterHook)
from .num_class_check_hook import NumClassCheckHook
from .runner import LiteRunner, init_distributed
from .runtime_config import build_runner, build_test_dataloader, runner_kwargs
from .val_loss_hook import ValLossHook

__all__ = [
    'DatasetMetric',
    'AtomicLocalBackend', 'UnsafeCheckpointError', 'checkpoint_classes', 'load_checkpoint',
    'load_checkpoint_safely', 'save_checkpoint_atomic', 'LrUpdaterHook', 'FixedLrUpdaterHook',
    'StepLrUpdaterHook', 'ExpLrUpdaterHook', 'PolyLrUpdaterHook', 'InvLrUpdaterHook',
    'CosineAnnealingLrUpdaterHook', 'LinearAnnealingLrUpdaterHook',
    'FlatCosineAnnealingLrUpdaterHook', 'CosineRestartLrUpdaterHook', 'CyclicLrUpdaterHook',
    'OneCycleLrUpdaterHook', 'YOLOXLrUpdaterHook', 'MomentumUpdaterHook',
    'StepMomentumUpdaterHook', 'CosineAnnealingMomentumUpdaterHook',
    'LinearAnnealingMomentumUpdaterHook', 'CyclicMomentumUpdaterHook',
    'OneCycleMomentumUpdaterHook', 'NumClassCheckHook',
    'LiteRunner', 'init_distributed', 'build_runner', 'build_test_dataloader', 'runner_kwargs',
    'ValLossHook', 'EVAL_HOOK_KEYS', 'dataset_evaluate_kwargs'
]

"""Runtime: 2.x config translation onto mmengine's Runner, hooks mmengine lacks, safe checkpoints."""
from ..checkpoint import (AtomicLocalBackend, UnsafeCheckpointError, checkpoint_classes,
                          load_checkpoint, load_checkpoint_safely, save_checkpoint_atomic)
from .check_invalid_loss_hook import CheckInvalidLossHook, InvalidLossError
from .checkpoint_validation import CheckpointMismatchError, DamagedCheckpointError
from .dataset_metric import DatasetMetric
from .ema_hook import (BaseEMAHook, ExpMomentumEMA, ExpMomentumEMAHook, LinearMomentumEMA,
                       LinearMomentumEMAHook)
from .evaluation_config import EVAL_HOOK_KEYS, dataset_evaluate_kwargs
from .iter_based_loop import LiteIterBasedTrainLoop
from .layer_decay_optimizer_constructor import LearningRateDecayOptimizerConstructor
from .lr_updater_hook import (CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook,
                              CyclicLrUpdaterHook, ExpLrUpdaterHook,
                              FixedLrUpdaterHook, FlatCosineAnnealingLrUpdaterHook,
                              InvLrUpdaterHook, LinearAnnealingLrUpdaterHook, LrUpdaterHook,
                              OneCycleLrUpdaterHook, PolyLrUpdaterHook, StepLrUpdaterHook,
                              YOLOXLrUpdaterHook)
from .memory_profiler_hook import MemoryProfilerHook
from .momentum_updater_hook import (CosineAnnealingMomentumUpdaterHook,
                                    CyclicMomentumUpdaterHook,
                                    LinearAnnealingMomentumUpdaterHook, MomentumUpdaterHook,
                                    OneCycleMomentumUpdaterHook, StepMomentumUpdaterHook)
from .num_class_check_hook import NumClassCheckHook
from .runner import LiteRunner, init_distributed
from .runtime_config import build_runner, build_test_dataloader, runner_kwargs
from .safe_checkpoint_hook import SafeCheckpointHook
from .set_epoch_info_hook import SetEpochInfoHook
from .sync_norm_hook import SyncNormHook
from .sync_random_size_hook import SyncRandomSizeHook
from .val_loss_hook import ValLossHook
from .yolox_mode_switch_hook import YOLOXModeSwitchHook

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
    'ValLossHook', 'EVAL_HOOK_KEYS', 'dataset_evaluate_kwargs', 'BaseEMAHook', 'ExpMomentumEMA',
    'LinearMomentumEMA', 'ExpMomentumEMAHook', 'LinearMomentumEMAHook', 'YOLOXModeSwitchHook',
    'SyncNormHook', 'SyncRandomSizeHook', 'CheckInvalidLossHook', 'MemoryProfilerHook',
    'SetEpochInfoHook', 'LearningRateDecayOptimizerConstructor', 'SafeCheckpointHook',
    'DamagedCheckpointError', 'CheckpointMismatchError', 'LiteIterBasedTrainLoop',
    'InvalidLossError'
]

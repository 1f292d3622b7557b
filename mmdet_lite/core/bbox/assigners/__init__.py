from .approx_max_iou_assigner import ApproxMaxIoUAssigner
from .assign_result import AssignResult
from .atss_assigner import ATSSAssigner
from .base_assigner import BaseAssigner
from .center_region_assigner import CenterRegionAssigner
from .grid_assigner import GridAssigner
from .max_iou_assigner import MaxIoUAssigner
from .point_assigner import PointAssigner
from .region_assigner import RegionAssigner
from .sim_ota_assigner import SimOTAAssigner
from .task_aligned_assigner import TaskAlignedAssigner
from .uniform_assigner import UniformAssigner

__all__ = [
    'AssignResult', 'BaseAssigner', 'MaxIoUAssigner', 'ApproxMaxIoUAssigner', 'ATSSAssigner',
    'CenterRegionAssigner', 'GridAssigner', 'PointAssigner', 'RegionAssigner', 'SimOTAAssigner',
    'TaskAlignedAssigner', 'UniformAssigner'
]

from .assign_result import AssignResult
from .base_assigner import BaseAssigner
from .max_iou_assigner import MaxIoUAssigner

__all__ = ['AssignResult', 'BaseAssigner', 'MaxIoUAssigner']

from .fpn import FPN
from .hrfpn import HRFPN
from .yolo_neck import YOLOV3Neck
from .yolox_pafpn import YOLOXPAFPN

__all__ = ['FPN', 'HRFPN', 'YOLOXPAFPN', 'YOLOV3Neck']

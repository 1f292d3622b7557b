from .fpn import FPN
from .hrfpn import HRFPN
from .yolox_pafpn import YOLOXPAFPN

__all__ = ['FPN', 'HRFPN', 'YOLOXPAFPN']

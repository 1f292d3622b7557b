from .bfp import BFP
from .channel_mapper import ChannelMapper
from .ct_resnet_neck import CTResNetNeck
from .dilated_encoder import DilatedEncoder
from .dyhead import DyHead
from .fpg import FPG
from .fpn import FPN
from .fpn_carafe import FPN_CARAFE
from .hrfpn import HRFPN
from .nas_fpn import NASFPN
from .nasfcos_fpn import NASFCOS_FPN
from .pafpn import PAFPN
from .rfp import RFP
from .ssd_neck import SSDNeck
from .yolo_neck import YOLOV3Neck
from .yolox_pafpn import YOLOXPAFPN

__all__ = ['FPN', 'HRFPN', 'YOLOXPAFPN', 'YOLOV3Neck', 'PAFPN', 'ChannelMapper', 'BFP',
           'CTResNetNeck', 'DilatedEncoder', 'FPG', 'DyHead', 'FPN_CARAFE', 'NASFPN', 'NASFCOS_FPN',
           'RFP', 'SSDNeck']

"""WIDER FACE in Pascal-VOC XML form (2.x ``WIDERFaceDataset``)."""
import os.path as osp
from typing import List

from ..registry import DATASETS
from .xml_style import XMLDataset


@DATASETS.register_module()
class WIDERFaceDataset(XMLDataset):
    """One class, 'face'. ``ann_file`` lists image ids; ``img_prefix/Annotations/<id>.xml``
    gives the size and the event ``folder``, and the image is ``img_prefix/<folder>/<id>.jpg``
    (the layout of the VOC-style WIDER FACE conversion that 2.x used)."""

    CLASSES = ('face',)

    PALETTE = [(0, 255, 0)]

    def load_annotations(self, ann_file: str) -> List[dict]:
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'image list {ann_file!r} not found (check data_root and '
                                    f'ann_file)')
        with open(ann_file) as f:
            img_ids = [line.strip() for line in f if line.strip()]
        infos = []
        for img_id in img_ids:
            root = self._parse_xml(img_id)
            size, folder = root.find('size'), root.find('folder')
            if size is None or folder is None:
                raise ValueError(f'annotation {self._xml_path(img_id)!r} needs <size> and '
                                 '<folder> (the event folder of the image)')
            infos.append(dict(id=img_id, filename=osp.join(folder.text, f'{img_id}.jpg'),
                              width=int(size.find('width').text),
                              height=int(size.find('height').text)))
        return infos

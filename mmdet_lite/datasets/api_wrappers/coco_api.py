"""pycocotools' ``COCO`` with the snake_case method names of mmdetection 2.x's wrapper."""
import contextlib
import io
from typing import List, Optional, Sequence, Union

from pycocotools.coco import COCO as _PyCOCO


class COCO(_PyCOCO):
    """``COCO(annotation_file)`` quiet on stdout, plus ``get_*_ids`` / ``load_*`` aliases."""

    def __init__(self, annotation_file: Optional[str] = None):
        with contextlib.redirect_stdout(io.StringIO()):
            super().__init__(annotation_file)

    def createIndex(self) -> None:  # noqa: N802 (pycocotools' name)
        with contextlib.redirect_stdout(io.StringIO()):
            super().createIndex()

    def get_ann_ids(self, img_ids: Union[int, Sequence[int]] = (),
                    cat_ids: Sequence[int] = (), area_rng: Sequence[float] = (),
                    iscrowd: Optional[bool] = None) -> List[int]:
        return self.getAnnIds(img_ids, cat_ids, area_rng, iscrowd)

    def get_cat_ids(self, cat_names: Sequence[str] = (), sup_names: Sequence[str] = (),
                    cat_ids: Sequence[int] = ()) -> List[int]:
        return self.getCatIds(cat_names, sup_names, cat_ids)

    def get_img_ids(self, img_ids: Sequence[int] = (), cat_ids: Sequence[int] = ()) -> List[int]:
        return self.getImgIds(img_ids, cat_ids)

    def load_anns(self, ids) -> List[dict]:
        return self.loadAnns(ids)

    def load_cats(self, ids) -> List[dict]:
        return self.loadCats(ids)

    def load_imgs(self, ids) -> List[dict]:
        return self.loadImgs(ids)

    @property
    def cat_img_map(self) -> dict:
        return self.catToImgs

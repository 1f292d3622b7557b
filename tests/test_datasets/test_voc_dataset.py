"""VOCDataset on a tiny VOC2007 layout: difficult -> ignore, year, mAP."""
import numpy as np
import pytest

from mmdet_lite.datasets import build_dataset

XML = """<annotation><size><width>64</width><height>48</height><depth>3</depth></size>
<object><name>dog</name><difficult>0</difficult>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>11</xmax><ymax>11</ymax></bndbox></object>
<object><name>cat</name><difficult>1</difficult>
<bndbox><xmin>21</xmin><ymin>21</ymin><xmax>31</xmax><ymax>31</ymax></bndbox></object>
<object><name>person</name><difficult>0</difficult>
<bndbox><xmin>41</xmin><ymin>1</ymin><xmax>61</xmax><ymax>41</ymax></bndbox></object>
</annotation>"""


def make_voc(tmp_path, year='VOC2007'):
    root = tmp_path / 'VOCdevkit' / year
    (root / 'Annotations').mkdir(parents=True)
    (root / 'ImageSets' / 'Main').mkdir(parents=True)
    (root / 'Annotations' / '000001.xml').write_text(XML)
    (root / 'ImageSets' / 'Main' / 'test.txt').write_text('000001\n')
    return build_dataset(dict(type='VOCDataset', ann_file=str(root / 'ImageSets/Main/test.txt'),
                              img_prefix=str(root) + '/', pipeline=[], test_mode=True))


def test_voc_annotations_difficult_is_ignored(tmp_path):
    ds = make_voc(tmp_path)
    assert ds.year == 2007 and len(ds) == 1
    assert ds.data_infos[0] == dict(id='000001', filename='JPEGImages/000001.jpg', width=64,
                                    height=48)
    ann = ds.get_ann_info(0)
    cls = ds.CLASSES
    np.testing.assert_allclose(ann['bboxes'], [[0, 0, 10, 10], [40, 0, 60, 40]])
    np.testing.assert_array_equal(ann['labels'], [cls.index('dog'), cls.index('person')])
    np.testing.assert_allclose(ann['bboxes_ignore'], [[20, 20, 30, 30]])
    np.testing.assert_array_equal(ann['labels_ignore'], [cls.index('cat')])


def test_voc_evaluate_map(tmp_path):
    ds = make_voc(tmp_path)
    cls = ds.CLASSES
    result = [np.zeros((0, 5), np.float32) for _ in cls]
    result[cls.index('dog')] = np.array([[0, 0, 10, 10, 0.9]], np.float32)
    result[cls.index('cat')] = np.array([[20, 20, 30, 30, 0.8]], np.float32)  # difficult: ignored
    result[cls.index('person')] = np.array([[0, 30, 10, 40, 0.7]], np.float32)  # a miss
    out = ds.evaluate([result], metric='mAP', iou_thr=[0.5, 0.75])
    # classes with GT: dog (AP 1) and person (AP 0)
    assert out['AP50'] == 0.5 and out['AP75'] == 0.5 and out['mAP'] == pytest.approx(0.5)
    assert list(out)[0] == 'mAP'
    recall = ds.evaluate([np.array([[0, 0, 10, 10, 1.0]], np.float32)], metric='recall',
                         proposal_nums=(1,), iou_thr=0.5)
    assert recall['recall@1@0.5'] == pytest.approx(0.5)


def test_voc_year_must_be_in_prefix(tmp_path):
    with pytest.raises(ValueError, match='VOC year'):
        make_voc(tmp_path, year='VOCfoo')
    assert make_voc(tmp_path, year='VOC2012').year == 2012

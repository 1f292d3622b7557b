"""CityscapesDataset, DeepFashionDataset and WIDERFaceDataset load their 2.x layouts."""
import json

import pytest

from mmdet_lite.datasets import (CityscapesDataset, DeepFashionDataset, WIDERFaceDataset,
                                 build_dataset)


def write_coco(path, classes, images, anns):
    data = dict(images=images, annotations=anns,
                categories=[dict(id=i + 1, name=n) for i, n in enumerate(classes)])
    path.write_text(json.dumps(data))
    return str(path)


def test_cityscapes_drops_all_crowd_images_and_reads_segm_file(tmp_path):
    images = [dict(id=i, file_name=f'c{i}.png', width=64, height=64, segm_file=f'c{i}_seg.png')
              for i in (1, 2, 3)]
    anns = [dict(id=1, image_id=1, category_id=3, bbox=[2, 2, 10, 10], area=100, iscrowd=0,
                 segmentation=[[2, 2, 12, 2, 12, 12]]),
            dict(id=2, image_id=1, category_id=1, bbox=[20, 20, 10, 10], area=100, iscrowd=1,
                 segmentation=[[20, 20, 30, 20, 30, 30]]),
            dict(id=3, image_id=2, category_id=1, bbox=[2, 2, 10, 10], area=100, iscrowd=1,
                 segmentation=[[2, 2, 12, 2, 12, 12]])]
    ann_file = write_coco(tmp_path / 'city.json', CityscapesDataset.CLASSES, images, anns)
    ds = build_dataset(dict(type='CityscapesDataset', ann_file=ann_file, pipeline=[]))
    assert len(ds) == 1 and ds.data_infos[0]['id'] == 1  # 2 is all crowd, 3 has nothing
    ann = ds.get_ann_info(0)
    assert ann['labels'].tolist() == [2] and ann['bboxes_ignore'].tolist() == [[20, 20, 30, 30]]
    assert ann['seg_map'] == 'c1_seg.png'
    with pytest.raises(NotImplementedError, match='cityscapesscripts'):
        ds.evaluate([], metric=['bbox', 'cityscapes'])
    kept = CityscapesDataset(ann_file=ann_file, pipeline=[], filter_empty_gt=False)
    assert len(kept) == 3


def test_deepfashion_classes(tmp_path):
    images = [dict(id=1, file_name='a.jpg', width=64, height=64)]
    anns = [dict(id=1, image_id=1, category_id=15, bbox=[1, 1, 20, 20], area=400, iscrowd=0,
                 segmentation=[[1, 1, 21, 1, 21, 21]])]
    ann_file = write_coco(tmp_path / 'df.json', DeepFashionDataset.CLASSES, images, anns)
    ds = build_dataset(dict(type='DeepFashionDataset', ann_file=ann_file, pipeline=[]))
    assert len(DeepFashionDataset.CLASSES) == 15
    assert ds.get_ann_info(0)['labels'].tolist() == [14]  # 'face'


def test_wider_face_reads_event_folder(tmp_path):
    (tmp_path / 'Annotations').mkdir()
    (tmp_path / 'Annotations' / '0_Parade_1.xml').write_text(
        '<annotation><folder>0--Parade</folder><size><width>80</width><height>60</height>'
        '</size><object><name>face</name><difficult>0</difficult><bndbox><xmin>11</xmin>'
        '<ymin>21</ymin><xmax>40</xmax><ymax>50</ymax></bndbox></object></annotation>')
    (tmp_path / 'train.txt').write_text('0_Parade_1\n')
    ds = build_dataset(dict(type='WIDERFaceDataset', ann_file=str(tmp_path / 'train.txt'),
                            img_prefix=str(tmp_path), pipeline=[]))
    assert isinstance(ds, WIDERFaceDataset) and ds.CLASSES == ('face',)
    assert ds.data_infos[0]['filename'] == '0--Parade/0_Parade_1.jpg'
    ann = ds.get_ann_info(0)
    assert ann['labels'].tolist() == [0] and ann['bboxes'].tolist() == [[10, 20, 39, 49]]


def test_lvis_v1_classes_from_file_paths_from_url_and_no_evaluation(tmp_path):
    images = [dict(id=7, coco_url='http://images.cocodataset.org/train2017/000000000007.jpg',
                   width=64, height=48, neg_category_ids=[], not_exhaustive_category_ids=[])]
    anns = [dict(id=1, image_id=7, category_id=3, bbox=[1, 2, 10, 20], area=200,
                 segmentation=[[1, 2, 11, 2, 11, 22]])]
    data = dict(images=images, annotations=anns,  # categories not in id order in the file
                categories=[dict(id=3, name='zebra'), dict(id=1, name='aerosol_can'),
                            dict(id=2, name='apple')])
    (tmp_path / 'lvis_v1.json').write_text(json.dumps(data))
    ds = build_dataset(dict(type='LVISV1Dataset', ann_file=str(tmp_path / 'lvis_v1.json'),
                            pipeline=[]))
    assert ds.CLASSES == ('aerosol_can', 'apple', 'zebra')
    assert ds.data_infos[0]['filename'] == 'train2017/000000000007.jpg'
    assert ds.get_ann_info(0)['labels'].tolist() == [2]
    with pytest.raises(NotImplementedError, match='federated'):
        ds.evaluate([], metric='bbox')
    subset = build_dataset(dict(type='LVISV1Dataset', ann_file=str(tmp_path / 'lvis_v1.json'),
                                pipeline=[], classes=('zebra',)))
    assert subset.CLASSES == ('zebra',) and subset.get_ann_info(0)['labels'].tolist() == [0]


def test_lvis_v05_shortens_coco_2014_names(tmp_path):
    data = dict(images=[dict(id=5, file_name='COCO_val2014_000000000005.jpg', width=64,
                             height=48)],
                annotations=[dict(id=1, image_id=5, category_id=1, bbox=[1, 2, 10, 20],
                                  area=200, segmentation=[[1, 2, 11, 2, 11, 22]])],
                categories=[dict(id=1, name='acorn')])
    (tmp_path / 'lvis_v05.json').write_text(json.dumps(data))
    for name in ('LVISDataset', 'LVISV05Dataset'):
        ds = build_dataset(dict(type=name, ann_file=str(tmp_path / 'lvis_v05.json'),
                                pipeline=[]))
        assert ds.data_infos[0]['filename'] == '000000000005.jpg' and ds.CLASSES == ('acorn',)

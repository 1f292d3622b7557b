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


def test_coco_panoptic_loads_through_the_2x_pipeline(tmp_path):
    import mmcv
    import numpy as np
    # person (thing) segment 5 at [4, 6, 20, 30], a crowd person 6, sky (stuff) segment 300
    ids = np.zeros((48, 64), np.int64)
    ids[6:30, 4:20] = 5
    ids[36:44, 40:60] = 6
    ids[0:4, :] = 300
    (tmp_path / 'pan').mkdir()
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    mmcv.imwrite(rgb[..., ::-1], str(tmp_path / 'pan' / 'a.png'))
    mmcv.imwrite(np.zeros((48, 64, 3), np.uint8), str(tmp_path / 'a.jpg'))
    data = dict(
        images=[dict(id=1, file_name='a.jpg', width=64, height=48),
                dict(id=2, file_name='b.jpg', width=64, height=48)],
        annotations=[dict(image_id=1, file_name='a.png', segments_info=[
            dict(id=5, category_id=1, iscrowd=0, bbox=[4, 6, 16, 24], area=384),
            dict(id=6, category_id=1, iscrowd=1, bbox=[40, 36, 20, 8], area=160),
            dict(id=300, category_id=187, iscrowd=0, bbox=[0, 0, 64, 4], area=256)]),
            dict(image_id=2, file_name='b.png', segments_info=[
                dict(id=1, category_id=187, iscrowd=0, bbox=[0, 0, 64, 4], area=256)])],
        categories=[dict(id=1, name='person', isthing=1), dict(id=187, name='sky', isthing=0)])
    (tmp_path / 'pan.json').write_text(json.dumps(data))
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True,
                     with_seg=True),
                dict(type='Resize', img_scale=(128, 96), keep_ratio=True),
                dict(type='SegRescale', scale_factor=1 / 4)]
    ds = build_dataset(dict(type='CocoPanopticDataset', ann_file=str(tmp_path / 'pan.json'),
                            img_prefix=str(tmp_path), seg_prefix=str(tmp_path / 'pan'),
                            pipeline=pipeline))
    assert len(ds) == 1  # image 2 has no thing segment
    assert ds.CLASSES == ('person', 'sky') and ds.THING_CLASSES == ('person',)
    ann = ds.get_ann_info(0)
    assert ann['bboxes'].tolist() == [[4, 6, 20, 30]] and ann['labels'].tolist() == [0]
    assert ann['bboxes_ignore'].tolist() == [[40, 36, 60, 44]]
    assert [s['is_thing'] for s in ann['masks']] == [True, False, False]
    out = ds[0]
    assert out['img'].shape == (96, 128, 3) and len(out['gt_masks']) == 1
    np.testing.assert_allclose(out['gt_bboxes'], [[8, 12, 40, 60]])
    seg = out['gt_semantic_seg']
    assert seg.shape == (24, 32) and seg[0, 0] == 1 and seg[5, 3] == 0 and seg[20, 25] == 0
    assert seg[15, 30] == 255  # no segment: VOID
    with pytest.raises(NotImplementedError, match='panoptic'):
        ds.evaluate([])


def test_objects365_class_order_and_v2_paths(tmp_path):
    images = [dict(id=1, file_name='images/v2/patch3/objects365_v2_00000001.jpg', width=64,
                   height=48),
              dict(id=2, file_name='images/v1/patch6/objects365_v1_00320532.jpg', width=64,
                   height=48)]
    anns = [dict(id=i, image_id=i, category_id=2, bbox=[1, 2, 10, 20], area=200, iscrowd=0)
            for i in (1, 2)]
    cats = [dict(id=2, name='sneakers'), dict(id=1, name='person')]  # not in id order
    ann_file = write_coco(tmp_path / 'o365.json', [], images, anns)
    data = json.loads((tmp_path / 'o365.json').read_text())
    data['categories'] = cats
    (tmp_path / 'o365.json').write_text(json.dumps(data))
    v1 = build_dataset(dict(type='Objects365V1Dataset', ann_file=ann_file, pipeline=[]))
    assert v1.CLASSES == ('person', 'sneakers') and len(v1) == 2
    assert v1.get_ann_info(0)['labels'].tolist() == [1]
    v2 = build_dataset(dict(type='Objects365V2Dataset', ann_file=ann_file, pipeline=[]))
    assert [i['filename'] for i in v2.data_infos] == ['patch3/objects365_v2_00000001.jpg']

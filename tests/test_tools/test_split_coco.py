"""split_coco: seeded, disjoint, exact percentage, annotations follow their images."""
import os

import mmengine

from .tool_loader import load_tool


def test_split_coco_is_disjoint_and_seeded(tmp_path):
    images = [dict(id=100 + i, file_name=f'{i}.jpg', width=10, height=10) for i in range(20)]
    anns = [dict(id=j, image_id=100 + j % 20, bbox=[0, 0, 1, 1], category_id=1, area=1,
                 iscrowd=0) for j in range(45)]
    os.makedirs(tmp_path / 'coco' / 'annotations')
    mmengine.dump(dict(images=images, annotations=anns, categories=[dict(id=1, name='a')],
                       info={}, licenses=[]),
                  str(tmp_path / 'coco/annotations/instances_train2017.json'))
    tool = load_tool('tools/misc/split_coco.py')
    argv = ['--data-root', str(tmp_path / 'coco'), '--out-dir', str(tmp_path / 'out'),
            '--labeled-percent', '25', '--fold', '2']
    written = tool.main(argv)
    assert sorted(os.path.basename(p) for p in written) == [
        'instances_train2017.1@25.0-unlabeled.json', 'instances_train2017.1@25.0.json',
        'instances_train2017.2@25.0-unlabeled.json', 'instances_train2017.2@25.0.json']
    folds = []
    for fold in (1, 2):
        lab = mmengine.load(str(tmp_path / f'out/instances_train2017.{fold}@25.0.json'))
        unl = mmengine.load(str(tmp_path / f'out/instances_train2017.{fold}@25.0-unlabeled.json'))
        lab_ids = {i['id'] for i in lab['images']}
        unl_ids = {i['id'] for i in unl['images']}
        assert len(lab_ids) == 5 and not lab_ids & unl_ids and lab_ids | unl_ids == {
            i['id'] for i in images}
        assert {a['image_id'] for a in lab['annotations']} <= lab_ids
        assert {a['image_id'] for a in unl['annotations']} <= unl_ids
        assert len(lab['annotations']) + len(unl['annotations']) == 45
        assert lab['categories'] == unl['categories'] == [dict(id=1, name='a')]
        folds.append(lab_ids)
    assert folds[0] != folds[1]  # the fold is the seed
    tool.main(argv)  # same seed, same split
    again = mmengine.load(str(tmp_path / 'out/instances_train2017.1@25.0.json'))
    assert {i['id'] for i in again['images']} == folds[0]

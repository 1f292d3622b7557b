"""torchrun --nproc_per_node=2 on CPU (gloo) through tools/train.py --launcher pytorch."""
import glob
import json
import os
import os.path as osp
import shutil
import socket
import subprocess

import pytest
from mmengine.config import Config

from tests.test_engine.toy import toy_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which('torchrun') is None, reason='torchrun is not installed')
def test_torchrun_two_ranks_cpu(tmp_path):
    work_dir, rank_dir = str(tmp_path / 'wd'), str(tmp_path / 'ranks')
    cfg = Config(toy_cfg(work_dir, workflow=[('train', 1), ('val', 1)],
                         data=dict(toy_cfg('x')['data'], train=dict(type='ToyDetDataset', num=8, pipeline=[])),
                         evaluation=dict(interval=1, metric='bbox'),
                         custom_hooks=[dict(type='RankRecorderHook', out_dir=rank_dir)],
                         log_level='INFO'))
    cfg['custom_imports'] = dict(imports=['tests.test_engine.toy'], allow_failed_imports=False)
    config = str(tmp_path / 'toy_dist.py')
    cfg.dump(config)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    cmd = ['torchrun', '--nproc_per_node=2', f'--master_port={_free_port()}',
           osp.join(REPO, 'tools', 'train.py'), config, '--launcher', 'pytorch', '--device',
           'cpu']
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # both ranks trained: 8 samples / 2 ranks / 2 per batch = 2 iterations a rank and epoch
    ranks = [json.load(open(osp.join(rank_dir, f'rank{r}.json'))) for r in (0, 1)]
    assert [r['iters'] for r in ranks] == [4, 4]
    assert [r['world_size'] for r in ranks] == [2, 2]
    assert ranks[0]['weights'] == ranks[1]['weights']  # DDP kept the replicas in sync

    # only rank 0 wrote checkpoints and logs
    top = sorted(os.listdir(work_dir))
    stamp = [n for n in top if osp.isdir(osp.join(work_dir, n))]
    assert len(stamp) == 1
    assert sorted(set(top) - set(stamp)) == [
        'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint', 'latest.pth', 'toy_dist.py']
    logs = glob.glob(osp.join(work_dir, stamp[0], '*.log'))
    assert len(logs) == 1 and 'rank1' not in logs[0]
    # evaluation gathered every val sample exactly once, from both ranks, in order
    with open(osp.join(work_dir, stamp[0], 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f]
    metrics = [r for r in rows if 'num' in r]
    assert [(r['num'], r['unique'], r['id_sum'], r['in_order']) for r in metrics] == \
        [(5, 5, sum(range(100, 105)), 1.0)] * 2
    # the val losses are averaged over the 5 val samples of both ranks
    assert 'val losses' in open(logs[0]).read() and '(5 samples)' in open(logs[0]).read()

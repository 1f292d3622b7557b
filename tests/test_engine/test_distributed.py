"""torchrun --nproc_per_node=2 on CPU (gloo) through tools/train.py --launcher pytorch."""
import glob
import json
import os
import os.path as osp
import shutil
import socket
import subprocess

import pytest
import torch
from mmengine.config import Config

from mmdet_lite.engine import load_checkpoint_safely
from tests.test_engine.toy import toy_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _torchrun(tmp_path, name: str, cfg: Config, *args: str,
              timeout: int = 600) -> subprocess.CompletedProcess:
    cfg['custom_imports'] = dict(imports=['tests.test_engine.toy'], allow_failed_imports=False)
    config = str(tmp_path / f'{name}.py')
    cfg.dump(config)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    cmd = ['torchrun', '--nproc_per_node=2', f'--master_port={_free_port()}',
           osp.join(REPO, 'tools', 'train.py'), config, '--launcher', 'pytorch', '--device',
           'cpu', *args]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # SIGTERM: torchrun stops its workers (each in its own session) before it exits;
        # the SIGKILL of subprocess.run's timeout would leave them running
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _cfg(work_dir: str, **overrides) -> Config:
    return Config(toy_cfg(work_dir, workflow=[('train', 1), ('val', 1)],
                          data=dict(toy_cfg('x')['data'],
                                    train=dict(type='ToyDetDataset', num=8, pipeline=[])),
                          evaluation=dict(interval=1, metric='bbox'), log_level='INFO',
                          **overrides))


needs_torchrun = pytest.mark.skipif(shutil.which('torchrun') is None,
                                    reason='torchrun is not installed')


@pytest.fixture(scope='module')
def two_rank_run(tmp_path_factory):
    """2 epochs on 2 gloo ranks: (tmp dir, work dir, rank dir, the finished process)."""
    tmp_path = tmp_path_factory.mktemp('ddp')
    work_dir, rank_dir = str(tmp_path / 'wd'), str(tmp_path / 'ranks')
    proc = _torchrun(tmp_path, 'toy_dist', _cfg(work_dir, custom_hooks=[
        dict(type='RankRecorderHook', out_dir=rank_dir)]))
    return tmp_path, work_dir, rank_dir, proc


@needs_torchrun
def test_torchrun_two_ranks_cpu(two_rank_run):
    _, work_dir, rank_dir, proc = two_rank_run
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


@needs_torchrun
def test_two_ranks_resume_and_a_failing_rank_ends_the_run(two_rank_run):
    """Resumed from epoch_1.pth, epoch 2 ends with the uninterrupted run's weights; then rank 1
    raises before its first iteration of epoch 3: every rank ends, the run fails naming it."""
    tmp_path, work_dir, _, first = two_rank_run
    assert first.returncode == 0, first.stderr[-3000:]
    resumed_dir = str(tmp_path / 'resumed')
    # a rank waiting for the failed one for ever fails the test by the timeout (~30 s are
    # needed on 2 idle cores; a shared CI machine can take minutes to start two ranks)
    proc = _torchrun(tmp_path, 'toy_dist_resumed', _cfg(
        resumed_dir, runner=dict(type='EpochBasedRunner', max_epochs=3),
        custom_hooks=[dict(type='FailingRankHook', rank=1, at=5)]),
        '--resume-from', osp.join(work_dir, 'epoch_1.pth'), timeout=480)
    assert proc.returncode != 0
    assert 'rank 1 fails on purpose before iteration 5' in proc.stdout + proc.stderr
    # resumed at iteration 2 of 2 a rank and epoch: epoch 2 was trained and saved
    with open(glob.glob(osp.join(resumed_dir, '*', '*.log'))[0]) as f:
        assert 'resum' in f.read().lower()
    full = load_checkpoint_safely(osp.join(work_dir, 'epoch_2.pth'))
    resumed = load_checkpoint_safely(osp.join(resumed_dir, 'epoch_2.pth'))
    assert resumed['meta']['iter'] == full['meta']['iter'] == 4
    for key, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    assert not osp.exists(osp.join(resumed_dir, 'epoch_3.pth'))

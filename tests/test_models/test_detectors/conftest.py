"""Fixtures of the detector tests."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """Run the test on one intra-op thread (for the learning tests)."""
    # Two shared CPU cores: intra-op threads contending with other processes slow a learning
    # test down ~50x, a single thread keeps it at ~0.15 s per Mask R-CNN iteration.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

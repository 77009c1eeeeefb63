import os

import pytest
import torch

# Tests use one intra-op thread: the suite runs on 2 cores, results must not depend on threading.
torch.set_num_threads(1)
os.environ.setdefault("GENERATIVA_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache-test"))


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts on one thread and leaves it so (a trainer's num_threads setting changes it)."""
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    from generativa.data import load_data

    return load_data("digits")

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    """These tensors are tiny: one thread avoids OpenMP spin-wait overhead on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_problem():
    """11 regions × 25 genes, random coordinates in mm and 40 random pairs (with repeated regions)."""
    generator = torch.Generator().manual_seed(0)
    expression = torch.rand(11, 25, generator=generator)
    coordinates = 40 * torch.randn(11, 3, generator=generator)
    rows = torch.randint(0, 11, (40,), generator=generator)
    cols = torch.randint(0, 11, (40,), generator=generator)
    return expression, coordinates, rows, cols

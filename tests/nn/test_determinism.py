"""The region gathers have a deterministic backward pass on several CPU threads."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from ge2conn.nn.base import gather_rows
from ge2conn.nn.decoders import PairDecoder


@pytest.fixture
def two_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def test_gather_rows_gradient_sums_repeated_rows_like_numpy() -> None:
    generator = torch.Generator().manual_seed(0)
    table = torch.randn(7, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    index = torch.randint(0, 7, (40,), generator=generator)
    upstream = torch.randn(40, 5, dtype=torch.float64, generator=generator)
    gathered = gather_rows(table, index)
    gathered.backward(upstream)
    np.testing.assert_array_equal(gathered.detach().numpy(), table.detach().numpy()[index.numpy()])
    expected = np.zeros((7, 5))
    np.add.at(expected, index.numpy(), upstream.numpy())
    np.testing.assert_allclose(table.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.usefixtures("two_threads")
def test_indexed_decoder_gradients_are_bitwise_reproducible() -> None:
    # Big enough (B x H = 4096 x 512 gathered values) for the CPU kernels to split work over both threads,
    # where advanced indexing's backward sums repeated rows with atomic adds in a varying order.
    torch.manual_seed(0)
    decoder = PairDecoder(in_features=64, hidden_sizes=(512, 8), dropout=0.0)
    encoded = torch.randn(30, 64)
    index_i, index_j = torch.randint(0, 30, (4096,)), torch.randint(0, 30, (4096,))
    gradients = []
    for _ in range(4):
        decoder.zero_grad()
        decoder.forward_indexed(encoded, index_i, index_j).square().sum().backward()
        gradients.append(torch.cat([parameter.grad.flatten() for parameter in decoder.parameters()]))
    for gradient in gradients[1:]:
        assert torch.equal(gradient, gradients[0])

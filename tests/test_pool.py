import torch

from seigan.pool import ImagePool


def test_size_zero_passes_through():
    pool = ImagePool(0)
    x = torch.randn(3, 3, 4, 4, requires_grad=True)
    out = pool.query(x)
    assert torch.equal(out, x) and not out.requires_grad


def test_fills_first_then_mixes():
    pool = ImagePool(4, seed=0)
    a = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(a), a)  # while filling, the new images come back
    b = torch.arange(100.0, 104.0).view(4, 1, 1, 1)
    outs = torch.cat([pool.query(b + 10 * i) for i in range(20)]).flatten()
    old = (outs < 100).sum()
    assert 0 < old < len(outs)  # some stored images came back, some new ones passed through
    assert len(pool.images) == 4


def test_returns_detached_copies():
    pool = ImagePool(2, seed=0)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    out = pool.query(x)
    assert not out.requires_grad
    stored = pool.images[0].clone()
    with torch.no_grad():
        x.add_(1.0)  # the caller reuses its buffer: the stored copy must not change with it
    assert torch.equal(pool.images[0], stored)
    out.add_(1.0)  # nor when the returned batch is changed
    assert torch.equal(pool.images[0], stored)


def test_seeded_and_independent_of_global_random():
    import random
    seqs = []
    for _ in range(2):
        random.seed(123 + len(seqs))  # the global RNG differs between the two runs
        pool = ImagePool(3, seed=7)
        seqs.append(torch.cat([pool.query(torch.full((2, 1, 1, 1), float(i))) for i in range(15)]))
    assert torch.equal(seqs[0], seqs[1])


def test_state_roundtrip():
    pool = ImagePool(3, seed=1)
    for i in range(5):
        pool.query(torch.full((2, 1, 1, 1), float(i)))
    other = ImagePool(3, seed=99)
    other.load_state_dict(pool.state_dict())
    nxt = torch.full((4, 1, 1, 1), 9.0)
    assert torch.equal(pool.query(nxt), other.query(nxt))

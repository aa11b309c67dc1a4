"""The training loader: batch k depends only on (seed, rank, k), so loader workers, resuming mid-run and where the
images live change nothing; bad settings are one line."""
import dataclasses

import pytest
import torch

from seigan import batches, config
from seigan.data.layout import Split


def split(n=12, size=16) -> Split:
    g = torch.Generator().manual_seed(0)
    return Split(x=torch.rand(n, 3, size, size, generator=g), y=torch.rand(n, 3, size, size, generator=g),
                 boxes=None, mask=None, clean=None, names=[], source_size=size)


def settings(**over) -> config.TrainConfig:
    return dataclasses.replace(config.TrainConfig(batch_size=4, flip=True, zoom=0.3), **over)


def draw(steps, rank=0, **over) -> list:
    return list(batches.loader(split(), settings(**over), torch.device("cpu"), steps, rank))


def test_workers_give_the_same_batches_as_the_training_process():
    alone, workers = draw(range(1, 7)), draw(range(1, 7), workers=2)
    assert len(alone) == len(workers) == 6
    for (x0, y0), (x1, y1) in zip(alone, workers):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)


def test_a_resumed_run_draws_the_batches_a_straight_run_draws():
    straight, resumed = draw(range(1, 9)), draw(range(5, 9))
    for (x0, y0), (x1, y1) in zip(straight[4:], resumed):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)


def test_steps_and_ranks_draw_different_batches():
    (a, _), (b, _) = draw([1, 2])
    (c, _), = draw([1], rank=1)
    assert not torch.equal(a, b) and not torch.equal(a, c)


def test_batches_are_augmented_views_of_the_split():
    (x, y), = draw([3], flip=False, zoom=0.0)
    data = split()
    assert all(any(torch.equal(xi, d) for d in data.x) for xi in x)  # no augmentation: stored images
    assert all(any(torch.equal(yi, d) for d in data.y) for yi in y)
    (xz, _), = draw([3])
    assert xz.shape == x.shape and not torch.equal(xz, x)


def test_the_loader_leaves_torchs_global_generator_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    draw(range(1, 4), workers=1)
    assert torch.equal(torch.rand(3), expected)  # the model's own draws (pool, paste shift) are unchanged


def test_images_stay_in_host_memory_on_the_cpu():
    assert not batches.keep_on_device(settings(data_on="auto"), 10, torch.device("cpu"))
    assert not batches.keep_on_device(settings(data_on="device"), 10, torch.device("cpu"))


@pytest.mark.parametrize("over, message", [({"data_on": "gpu"}, "train.data_on must be"),
                                           ({"workers": -1}, "train.workers must be >= 0")])
def test_bad_loader_settings_are_one_line(over, message):
    with pytest.raises(config.ConfigError, match=message):
        draw([1], **over)


def test_boxes_travel_with_their_objects_and_leave_the_images_unchanged():
    """`with_boxes`: each x comes with its box as a map, flipped and zoomed with x (the box losses read it), and the
    images drawn are the ones drawn without boxes."""
    data = split()
    data.boxes = torch.tensor([[2.0, 4.0, 9.0, 12.0]] * len(data.x))
    data.x[:] = 0
    data.x[:, :, 4:12, 2:9] = 1  # every object fills its box exactly
    for over in ({"flip": False, "zoom": 0.0}, {}):
        plain = list(batches.loader(data, settings(**over), torch.device("cpu"), [1, 2]))
        boxed = list(batches.loader(data, settings(**over), torch.device("cpu"), [1, 2], with_boxes=True))
        for (x0, y0), (x1, y1, box) in zip(plain, boxed):
            assert torch.equal(x0, x1) and torch.equal(y0, y1) and box.shape == (4, 1, 16, 16)
            inside = (x1[:, :1] >= 0.5).float()
            assert (inside == box).float().mean() > 0.97  # the box lies where the object went
    assert torch.equal(batches.box_maps(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), 5)[0, 0],
                       torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]],
                                    dtype=torch.float32))

import math

import pytest
import torch

from seigan import losses
from seigan.model import paste


def test_paste_matches_hand_computed_2x2():
    m = torch.tensor([[[[1.0, 0.0], [0.5, 0.25]]]])
    x = torch.full((1, 3, 2, 2), 0.8)
    y = torch.full((1, 3, 2, 2), -0.4)
    z = paste(m, x, y)
    want = torch.tensor([[0.8, -0.4], [0.2, -0.1]])  # 0.5*0.8+0.5*-0.4 ; 0.25*0.8+0.75*-0.4
    assert torch.allclose(z[0, 0], want) and torch.allclose(z[0, 2], want)


def test_lsgan_values():
    pred = torch.tensor([0.0, 1.0, 2.0, 0.5])
    assert losses.lsgan_g(pred).item() == pytest.approx((1 + 0 + 1 + 0.25) / 4)
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    # 0.5 * (mean((r-1)^2) + mean(f^2)) = 0.5 * (0.5 + 2)
    assert losses.lsgan_d(real, fake).item() == pytest.approx(1.25)


def test_l1_value():
    assert losses.l1(torch.tensor([1.0, -1.0, 3.0]), torch.tensor([0.0, 1.0, 3.0])).item() == pytest.approx(1.0)


def test_gram_value():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # B=1, C=2, H=1, W=2
    # F F^T = [[5, 11], [11, 25]] divided by C*H*W = 4
    assert torch.allclose(losses.gram(f), torch.tensor([[[1.25, 2.75], [2.75, 6.25]]]))


def test_relative_l1_is_scale_free():
    a, b = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 3.0])
    assert losses.relative_l1(a, b).item() == pytest.approx(1.0 / 2.0)
    assert losses.relative_l1(a * 255, b * 255).item() == pytest.approx(0.5)


def test_mask_area_prior():
    m = torch.stack([torch.full((1, 2, 2), 0.05), torch.full((1, 2, 2), 0.5), torch.full((1, 2, 2), 0.95)])
    assert losses.mask_area_prior(m, 0.1, 0.9).item() == pytest.approx((0.05 + 0 + 0.05) / 3)


def test_vgg_is_frozen_eval_and_ten_layers(vgg):
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training
    feats = vgg(torch.zeros(1, 3, 32, 32))
    assert len(feats) == 10
    assert [f.shape[1] for f in feats] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512]


def test_feature_only_texture_loss_runs_five_layers_and_gives_the_same_value(vgg):
    """Without the Gram term the loss needs VGG's first five layers only (60% of the work is in the other five): it
    must run no more, and give exactly what the whole stack gives."""
    g = torch.Generator().manual_seed(0)
    fake, real = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1, torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    ran = []
    hooks = [stage.register_forward_hook(lambda *_: ran.append(1)) for stage in vgg.stages]
    texture = losses.TextureLoss(vgg)
    feature, gram = texture(fake, real, with_gram=False)
    assert len(ran) == 2 * 5 and gram.item() == 0
    ran.clear()
    full_feature, full_gram = texture(fake, real, with_gram=True)
    assert len(ran) == 2 * 10 and full_gram.item() > 0
    for h in hooks:
        h.remove()
    assert torch.equal(feature, full_feature)


def test_vgg_caffe_normalisation(vgg):
    # a mid-grey RGB image (0 in [-1,1]) is 127.5 in 0..255, minus the BGR means
    x = torch.zeros(1, 3, 1, 1)
    got = vgg.normalise(x).flatten()
    assert torch.allclose(got, torch.tensor([127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68]))


def test_torchvision_vgg_state_dict_loader(tmp_path):
    # A vgg19-shaped (but narrow) state dict: conv indices with pools between blocks as torchvision lays them out.
    idx_blocks = [[0, 2], [5, 7], [10, 12, 14, 16], [19, 21, 23, 25]]
    chans = [3, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]
    state, k = {}, 0
    for block in idx_blocks:
        for i in block:
            state[f"features.{i}.weight"] = torch.randn(chans[k + 1], chans[k], 3, 3)
            state[f"features.{i}.bias"] = torch.zeros(chans[k + 1])
            k += 1
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    net = losses.load_vgg(str(path))
    feats = net(torch.zeros(1, 3, 32, 32))
    assert [f.shape[-1] for f in feats] == [32, 32, 16, 16, 8, 8, 8, 8, 4, 4]  # pools where indices jump


def test_vgg_loader_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        losses.load_vgg(str(tmp_path / "nope.pth"))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="bad.pth: not a readable torch state dict"):
        losses.load_vgg(str(bad))


def test_region_l1_divides_by_the_region_and_jitter_stays_in_it():
    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    region = torch.zeros(1, 1, 4, 4)
    region[..., :2, :2] = 1
    assert losses.region_l1(a, b * region, region) == pytest.approx(1.0)  # the error only inside, all of it
    x = torch.rand(2, 3, 4, 4) * 2 - 1
    jittered = losses.jitter_colours(x, region, torch.Generator().manual_seed(0))
    assert torch.equal(jittered * (1 - region), x * (1 - region)) and not torch.equal(jittered, x)
    assert jittered.min() >= -1 and jittered.max() <= 1


def test_transfer_colours_moves_the_objects_statistics_towards_the_donors_and_nothing_else():
    x = torch.rand(4, 3, 8, 8) * 0.4 - 0.6  # dark scenes, colours well inside [-1, 1]
    region = torch.zeros(4, 1, 8, 8)
    region[..., 2:6, 2:6] = 1
    donor = torch.rand(4, 3, 8, 8) * 0.4 + 0.2  # a brighter background
    moved = losses.transfer_colours(x, region, donor, torch.Generator().manual_seed(0))
    assert torch.equal(moved * (1 - region), x * (1 - region))  # the surroundings are left as they were
    inside = lambda img: (img * region).sum((2, 3)) / region.sum((2, 3))  # noqa: E731
    shift, gap = inside(moved) - inside(x), donor.mean((2, 3)) - (x * (1 - region)).sum((2, 3)) / (1 - region).sum((2, 3))
    frac = shift / gap  # each image's t: the same for its three channels, in [0, 1]
    assert (frac >= 0).all() and (frac <= 1 + 1e-5).all() and (frac.std(1) < 1e-4).all()
    assert (frac.mean(1) > 0.01).any()
    still = losses.transfer_colours(x, region, donor, torch.Generator().manual_seed(0), strength=0.0)
    assert torch.allclose(still, x, atol=1e-5)  # t = 0: the identity


def test_outside_box_is_the_masks_mean_outside_each_box():
    box = torch.zeros(2, 1, 4, 4)
    box[:, :, 1:3, 1:3] = 1  # 4 pixels inside, 12 outside
    m = torch.zeros(2, 1, 4, 4)
    m[0] = box[0]  # all inside: nothing to pay
    m[1, :, 0, :] = 1  # the top row, outside: 4 of 12 outside pixels
    assert losses.outside_box(m, box).item() == pytest.approx((0 + 4 / 12) / 2)


def test_box_tightness_asks_every_row_and_column_of_the_box_to_hold_mask():
    box = torch.zeros(1, 1, 5, 5)
    box[:, :, 1:4, 0:4] = 1  # rows 1-3, columns 0-3
    full_diagonal = torch.zeros(1, 1, 5, 5)
    full_diagonal[0, 0, 1, 0] = full_diagonal[0, 0, 2, 1] = full_diagonal[0, 0, 3, 2] = 1
    full_diagonal[0, 0, 3, 3] = 1  # each of the 3 rows and 4 columns holds a 1
    assert losses.box_tightness(full_diagonal, box).item() == 0
    one_row = torch.zeros(1, 1, 5, 5)
    one_row[0, 0, 2, 0:4] = 1  # every column reached, one row of three
    assert losses.box_tightness(one_row, box).item() == pytest.approx((2 / 3 + 0) / 2)
    outside = torch.zeros(1, 1, 5, 5)
    outside[0, 0, 0, :] = outside[0, 0, :, 4] = 1  # mask only outside the box counts for nothing
    assert losses.box_tightness(outside, box).item() == 1


def test_rgb_to_lab_gives_the_cie_values_of_white_black_and_red():
    img = torch.tensor([[1.0, 1, 1], [-1, -1, -1], [1, -1, -1]]).T.reshape(1, 3, 1, 3)  # images in [-1, 1]
    lab = losses.rgb_to_lab(img)[0, :, 0].T
    assert torch.allclose(lab[0], torch.tensor([100.0, 0, 0]), atol=0.01)
    assert torch.allclose(lab[1], torch.zeros(3), atol=0.01)
    assert torch.allclose(lab[2], torch.tensor([53.24, 80.09, 67.20]), atol=0.05)
    dark = torch.full((1, 3, 1, 1), -0.98)  # sRGB 0.01: on the linear segment of both curves, L = 903.3 Y
    assert losses.rgb_to_lab(dark)[0, 0].item() == pytest.approx(903.3 * 0.01 / 12.92, abs=0.01)


def test_colour_affinity_asks_the_mask_edge_to_follow_the_image_edge_inside_the_box():
    img = -torch.ones(1, 3, 8, 8)
    img[..., 4:] = 1  # a black left half and a white right half
    box = torch.ones(1, 1, 8, 8)
    along = torch.full((1, 1, 8, 8), 0.01)
    along[..., 4:] = 0.99  # the mask's edge on the image's edge
    across = torch.full((1, 1, 8, 8), 0.01)
    across[..., :4, :] = 0.99  # an edge through both uniform halves
    assert losses.colour_affinity(along, img, box).item() < 0.05
    assert losses.colour_affinity(across, img, box).item() > 0.3
    grey = torch.full((1, 1, 8, 8), 0.5)
    assert losses.colour_affinity(grey, img, box).item() == pytest.approx(math.log(2), abs=1e-4)
    top = torch.zeros(1, 1, 8, 8)
    top[..., :4, :] = 1  # the same box-free crossing, now outside a box of the bottom rows only: free
    assert losses.colour_affinity(across, img, 1 - top).item() < 0.05

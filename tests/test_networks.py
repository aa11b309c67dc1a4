import pytest
import torch

from seigan import networks
from seigan.config import ConfigError, ModelConfig
from tests.conftest import images


@pytest.mark.parametrize("res,depth", [(32, 4), (64, 5)])
def test_output_shapes_at_two_resolutions(res, depth):
    cfg = ModelConfig(resolution=res, ngf=4, ndf=8, seg_depth=depth, n_blocks=1)
    x, y = images(2, res), images(2, res, seed=1)
    m = networks.make_seg(cfg)(x)
    assert m.shape == (2, 1, res, res)
    noise = torch.randn(2, cfg.noise_channels, res, res)
    assert networks.make_enh(cfg)(x, x, y, m, noise).shape == (2, 3, res, res)
    assert networks.make_inp(cfg)((1 - m) * x, m).shape == (2, 3, res, res)
    d = networks.make_disc(cfg)(x)
    assert d.shape[:2] == (2, 1) and d.shape[2] >= 2


def test_mask_is_in_unit_interval_even_for_extreme_inputs():
    cfg = ModelConfig(resolution=32, ngf=4, seg_depth=4)
    seg = networks.make_seg(cfg)
    m = seg(torch.cat([images(2) * 100, images(2) * -100]))
    assert m.min() >= 0 and m.max() <= 1


def test_patchgan_receptive_field_is_70():
    # A single output pixel of the 3-layer PatchGAN must depend on exactly a 70x70 input patch.
    d = networks.make_disc(ModelConfig(resolution=128, ndf=4, norm="none", d_layers=3))
    x = torch.zeros(1, 3, 128, 128, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad.abs().sum((0, 1)).sum(1))
    assert int(rows.max() - rows.min() + 1) == 70


def test_shape_contracts_fail_with_clear_messages():
    cfg = ModelConfig(resolution=32, ngf=4, seg_depth=4)
    with pytest.raises(ValueError, match=r"G_seg input x: expected a \(B, 3, H, W\)"):
        networks.make_seg(cfg)(torch.zeros(1, 4, 32, 32))
    with pytest.raises(ConfigError, match="model.resolution 40"):
        networks.make_seg(ModelConfig(resolution=40, seg_depth=4))
    with pytest.raises(ConfigError, match="model.norm"):
        networks.make_seg(ModelConfig(resolution=32, norm="group"))


@pytest.mark.parametrize("init", ["default", "normal"])
def test_residual_g_enh_starts_as_the_identity_and_can_leave_it(init):
    """With enh_output residual, ŷ = z exactly at initialisation (whatever x, y, m and the noise are), and a gradient
    step moves it: G_enh cannot destroy its input, and is not stuck there."""
    cfg = ModelConfig(resolution=32, ngf=4, n_blocks=1, init=init, enh_output="residual")
    enh = networks.make_enh(cfg)
    z, x, y = images(2, 32), images(2, 32, seed=1), images(2, 32, seed=2)
    m, noise = torch.rand(2, 1, 32, 32), torch.randn(2, cfg.noise_channels, 32, 32)
    assert torch.equal(enh(z, x, y, m, noise), z)
    opt = torch.optim.SGD(enh.parameters(), lr=0.1)
    for _ in range(2):  # the first step moves the last conv only; the second reaches the rest
        opt.zero_grad()
        (enh(z, x, y, m, noise) - x).abs().mean().backward()
        opt.step()
    assert not torch.equal(enh(z, x, y, m, noise), z)
    image = networks.make_enh(ModelConfig(resolution=32, ngf=4, n_blocks=1, enh_output="image"))
    assert not torch.allclose(image(z, x, y, m, noise), z, atol=0.1)  # CycleGAN's tanh image forgets z


def test_colour_g_enh_starts_as_the_identity_and_moves_only_the_objects_colours():
    """enh_output colour: ŷ = z at initialisation; after training towards a brighter object it has changed inside the
    mask only, and a flat-colour mean shift is within what it can express."""
    cfg = ModelConfig(resolution=32, enh_output="colour")
    enh = networks.make_enh(cfg)
    z, noise = images(4, 32), torch.zeros(4, cfg.noise_channels, 32, 32)
    m = torch.zeros(4, 1, 32, 32)
    m[:, :, 8:24, 8:24] = 1
    assert torch.equal(enh(z, z, z, m, noise), z)
    target = z + 0.3 * m
    opt = torch.optim.Adam(enh.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        (enh(z, z, z, m, noise) - target).abs().mean().backward()
        opt.step()
    out = enh(z, z, z, m, noise).detach()
    assert torch.equal(out * (1 - m), z * (1 - m))  # the surroundings are never touched
    assert (out - target).abs().mean() < 0.25 * (z - target).abs().mean()


def test_colour_g_enh_reads_the_objects_old_scene_only_with_enh_source():
    """`model.enh_source`: the transform depends on x outside m (the scene the object was cut from), so a paste from
    a dark scene and one from a bright scene get different corrections; without it x is ignored. Inside m, x is
    never read (only its surroundings are)."""
    z, noise = images(2, 32), torch.zeros(2, 1, 32, 32)
    m = torch.zeros(2, 1, 32, 32)
    m[:, :, 8:24, 8:24] = 1
    dark, bright = images(2, 32, seed=1) * 0.2 - 0.7, images(2, 32, seed=2) * 0.2 + 0.7
    for source, differs in ((True, True), (False, False)):
        torch.manual_seed(0)
        enh = networks.make_enh(ModelConfig(resolution=32, enh_output="colour", enh_source=source))
        torch.nn.init.normal_(enh.mlp[-1].weight, 0, 0.5)  # a trained-like last layer (it starts at zero)
        assert enh.mlp[0].in_features == (18 if source else 12)
        a, b = enh(z, dark, z, m, noise), enh(z, bright, z, m, noise)
        assert (not torch.allclose(a, b)) == differs
        inside_changed = dark * (1 - m) + bright * m  # x differs from `dark` only inside m
        assert torch.allclose(enh(z, inside_changed, z, m, noise), a)


def test_bilinear_upsampling_has_no_transposed_convolution():
    for upsample, has in (("bilinear", False), ("transposed", True)):
        net = networks.make_inp(ModelConfig(resolution=32, ngf=4, n_blocks=1, upsample=upsample))
        assert any(isinstance(mod, torch.nn.ConvTranspose2d) for mod in net.modules()) == has


def test_g_seg_reads_the_box_only_when_asked_and_says_so_when_it_is_missing():
    """`model.seg_box`: the box is a fourth input channel (the mask depends on where it is); without the option the
    network is the three-channel one of earlier checkpoints and ignores a box passed to it."""
    x = images(2)
    left = networks.box_maps(torch.tensor([[2.0, 2.0, 14.0, 14.0]] * 2), 32)
    right = networks.box_maps(torch.tensor([[16.0, 16.0, 30.0, 30.0]] * 2), 32)
    seg = networks.make_seg(ModelConfig(resolution=32, ngf=4, seg_depth=4, seg_box=True))
    assert not torch.allclose(seg(x, left), seg(x, right))
    with pytest.raises(ValueError, match="model.seg_box"):
        seg(x)
    with pytest.raises(ValueError, match="G_seg input box"):
        seg(x, left[:, :, :16, :16])
    plain = networks.make_seg(ModelConfig(resolution=32, ngf=4, seg_depth=4))
    assert torch.equal(plain(x, left), plain(x, right)) and torch.equal(plain(x), plain(x, left))
    assert sum(p.numel() for p in seg.parameters()) > sum(p.numel() for p in plain.parameters())


def test_mask_in_box_is_zero_outside_the_box_and_the_plain_mask_inside():
    """`model.mask_in_box`: the paper's G_seg sees only the box's crop, so its mask is 0 outside the box; inside, the
    same network's mask is unchanged (the cut adds no weights). `inference` cuts in eval mode only (training sees the
    whole mask), `always` in both; a missing box is named."""
    x = images(2)
    box = networks.box_maps(torch.tensor([[4.0, 6.0, 20.0, 26.0], [10.0, 2.0, 30.0, 18.0]]), 32)
    cfg = dict(resolution=32, ngf=4, seg_depth=4)
    plain = networks.make_seg(ModelConfig(**cfg, mask_in_box="never"), seed=0).eval()
    ref = plain(x)
    assert (ref[box == 0] > 0).all() and torch.equal(plain(x, box), ref)
    for mode, cuts_in_training in (("always", True), ("inference", False)):
        cut = networks.make_seg(ModelConfig(**cfg, mask_in_box=mode), seed=0)
        m = cut.eval()(x, box)
        assert m[box == 0].abs().max() == 0 and torch.equal(m[box == 1], ref[box == 1])
        with pytest.raises(ValueError, match="model.mask_in_box"):
            cut(x)
        trained = cut.train()(x, box)
        assert (trained[box == 0].abs().max() == 0) == cuts_in_training

import math
import os
import stat

import pytest
import torch

from seigan import atomic
from tests.conftest import images


def params_of(nets):
    return [p.detach().clone() for n in nets for p in n.parameters()]


def changed(before, nets):
    return [not torch.equal(a, b) for a, b in zip(before, params_of(nets))]


def test_generator_loss_reaches_every_generator(make_model):
    model = make_model("full")
    x, y = images(2), images(2, seed=1)
    lo = model.generator_losses(model(x, y), x, y)
    sum(model.weight(k) * v for k, v in lo.items()).backward()
    for name in ("seg", "enh", "inp"):
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert all(g is not None for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads) > 0, name


def test_generator_step_leaves_discriminators_and_vice_versa(make_model):
    model = make_model("full")
    x, y = images(2), images(2, seed=1)
    d_before = params_of([model.d_bg, model.d_obj])
    g_before = params_of(model.generators())
    out, _ = model.generator_step(x, y)
    assert not any(changed(d_before, [model.d_bg, model.d_obj]))
    assert all(p.grad is None for d in (model.d_bg, model.d_obj) for p in d.parameters())
    assert any(changed(g_before, model.generators()))
    g_mid = params_of(model.generators())
    model.opt_g.zero_grad(set_to_none=True)
    model.discriminator_step(out, x, y)
    assert not any(changed(g_mid, model.generators()))
    assert all(p.grad is None for n in model.generators() for p in n.parameters())
    assert any(changed(d_before, [model.d_bg, model.d_obj]))


def seg_grad(model, loss) -> float:
    model.zero_grad(set_to_none=True)
    loss.backward(retain_graph=True)
    return sum(float(p.grad.abs().sum()) for p in model.seg.parameters() if p.grad is not None)


RECIPE = {"compose_inpaint": True, "paste_shift": 0.125, "binarize": 2.0, "mask_area": 1.0, "area_min": 0.9, "area_max": 0.95}


def test_adversarial_mask_grad_keeps_reconstructions_off_the_mask(make_model):
    """With mask_grad adversarial only the two adversaries and the priors reach G_seg; with mask_grad all
    (the paper) the reconstructions and the identity loss reach it too."""
    x, y = images(2), images(2, seed=1)
    for mode, reaches in (("adversarial", False), ("all", True)):
        model = make_model("full", loss={**RECIPE, "mask_grad": mode})
        torch.nn.init.normal_(model.enh.mlp[-1].weight, 0, 0.02)  # as after training: ŷ depends on m
        lo = model.generator_losses(model(x, y), x, y)
        for name in ("rec_bg", "rec_obj", "vgg_feature", "identity"):
            assert (seg_grad(model, lo[name]) > 0) == reaches, (mode, name)
        for name in ("adv_obj", "adv_bg", "binarize", "mask_area"):
            assert seg_grad(model, lo[name]) > 0, (mode, name)


def test_composed_inpainting_keeps_the_known_pixels(make_model):
    model = make_model("single_pass", loss={"compose_inpaint": True})
    x, y = images(2), images(2, seed=1)
    out = model(x, y)
    m = out["m"].detach()
    raw = model.inp((1 - m) * x, m)
    assert torch.allclose(out["x_hat"], (1 - m) * x + m * raw, atol=1e-6)
    paper = make_model("single_pass", loss={"compose_inpaint": False})
    outp = paper(x, y)
    assert torch.allclose(outp["x_hat"], paper.inp((1 - outp["m"]) * x, outp["m"]), atol=1e-6)


def test_shifted_paste_zero_pads_and_defeats_the_all_ones_mask(make_model):
    model = make_model("single_pass", loss={"paste_shift": 0.25})
    x, y = images(8), images(8, seed=1)
    ones = torch.ones(8, 1, 32, 32)
    z = model.shifted_paste(ones, x, y)
    assert not torch.allclose(z, x)  # the all-ones mask no longer reproduces x ...
    moved = [not torch.allclose(zi, xi) for zi, xi in zip(z, x)]
    assert sum(moved) >= 6
    for zi, yi, mi in zip(z, y, moved):  # ... and where the object left, the background shows (zero padding)
        if mi:
            edge = torch.stack([zi[:, :, 0], zi[:, :, -1], zi[:, 0, :], zi[:, -1, :]])
            ref = torch.stack([yi[:, :, 0], yi[:, :, -1], yi[:, 0, :], yi[:, -1, :]])
            assert (edge - ref).abs().amax(dim=(1, 2)).min() < 1e-5
    assert torch.equal(make_model("single_pass", loss={"paste_shift": 0.0}).shifted_paste(ones, x, y), x)  # shift 0: the plain paste


def test_binarize_weight_ramps_linearly(make_model):
    model = make_model("single_pass", loss={"binarize": 4.0, "binarize_ramp": 4})
    weights = []
    for s in range(5):
        weights.append(model.weight("binarize"))
        model.step(images(2, seed=s), images(2, seed=9))
    assert weights == pytest.approx([1.0, 2.0, 3.0, 4.0, 4.0])


def test_the_step_count_goes_on_from_the_warm_start_and_survives_a_checkpoint(make_model):
    """The model owns its step counter: a run that inherits a warm start's networks continues its binarisation
    ramp, and a resumed run continues its own."""
    from seigan import train
    recipe = {"binarize": 4.0, "binarize_ramp": 4}
    warm = make_model("single_pass", loss=recipe)
    for s in range(2):
        warm.step(images(2, seed=s), images(2, seed=9))
    variant = make_model("single_pass", loss=recipe)
    train.load_networks(variant, {"model": warm.full_state(), "step": 2}, ["seg", "inp"])
    assert variant.steps_done == 2 and variant.weight("binarize") == pytest.approx(3.0)
    variant.step(images(2, seed=5), images(2, seed=9))
    resumed = make_model("single_pass", loss=recipe)
    resumed.load_full_state(variant.full_state())
    assert resumed.steps_done == 3 and resumed.weight("binarize") == pytest.approx(4.0)


def test_full_step_returns_named_finite_losses(make_model):
    rec = make_model("full", loss=RECIPE).step(images(2), images(2, seed=1))
    for key in ("adv_bg", "adv_obj", "rec_bg", "rec_obj", "vgg_feature", "vgg_gram", "identity", "d_bg",
                "d_obj", "g_total", "mask_mean", "binarize", "mask_area"):
        assert key in rec and math.isfinite(rec[key]), key


def test_no_enhancement_never_calls_g_enh(make_model):
    model = make_model("no_enhancement")
    assert model.enh is None
    out = model(images(2), images(2, seed=1))
    assert torch.equal(out["y_hat"], out["z"])  # y_hat = z
    rec = model.step(images(2), images(2, seed=1))
    assert "identity" not in rec


def test_g_enh_is_called_in_full(make_model):
    model = make_model("full")
    calls = []
    model.enh.register_forward_hook(lambda *a: calls.append(1))
    model.step(images(2), images(2, seed=1))
    assert len(calls) == 4  # first pass, second pass, identity, restoring a colour-jittered x (loss.enh_restore)


def test_the_hole_loss_runs_g_inp_on_its_share_of_the_batch(make_model):
    """`loss.hole_rec_share`: G_inp's call for the hole loss (its last call in a step) takes the first
    share of the batch's backgrounds; at 1 the whole batch."""
    x, y = images(4), images(4, seed=1)
    for share, n in ((1.0, 4), (0.5, 2), (0.1, 1)):
        model = make_model("full", loss={"hole_rec_share": share})
        seen = []
        model.inp.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
        model.step(x, y)
        masked = seen[-1]
        assert len(masked) == n, (share, len(masked))
        hole = (masked == 0).all(1, keepdim=True)
        assert torch.equal(masked * ~hole, y[:n] * ~hole)  # y itself, outside the hole


def test_the_colour_jitter_g_enh_restores_is_the_one_params_set(make_model):
    """`loss.enh_jitter_gain` and `enh_jitter_shift` set the change G_enh learns to undo: none at 0 and 0 (its input
    is x itself), inside the object only and within the shift's reach otherwise."""
    x, y = images(2), images(2, seed=1)
    for gain, shift in ((0.0, 0.0), (0.0, 0.6)):
        model = make_model("full", loss={"enh_jitter_gain": gain, "enh_jitter_shift": shift, "enh_jitter": "uniform"})
        seen = []
        model.enh.register_forward_hook(lambda mod, args, out: seen.append(args))
        model.step(x, y)
        z, _, _, obj, _ = seen[-1]  # the last call: restoring the jittered x (loss.enh_restore)
        moved = ((z - x).abs() * obj).amax(dim=(1, 2, 3))
        if shift == 0:
            assert torch.equal(z, x)
        else:
            assert torch.equal(z * (1 - obj), x * (1 - obj)) and (moved > 0).all() and (moved <= shift + 1e-6).all()
            assert moved.max() > 0.3  # beyond the former fixed shift of 0.3 for some image and channel


def test_no_identity_drops_only_the_identity_term(make_model):
    full = make_model("full").step(images(2), images(2, seed=1))
    rec = make_model("no_identity").step(images(2), images(2, seed=1))
    assert "identity" not in rec and set(full) - set(rec) == {"identity"}


def test_no_texture_drops_only_the_gram_term(make_model):
    full = make_model("full").step(images(2), images(2, seed=1))
    rec = make_model("no_texture").step(images(2), images(2, seed=1))
    assert set(full) - set(rec) == {"vgg_gram"}
    assert rec["vgg_feature"] < full["vgg_feature"]  # background feature term gone, object one kept


def test_single_pass_has_no_second_application(make_model):
    model = make_model("single_pass")
    out = model(images(2), images(2, seed=1))
    assert set(out) == {"m", "z", "y_hat", "x_hat", "z_tilde"}
    rec = model.step(images(2), images(2, seed=1))
    assert not {"rec_bg", "rec_obj", "vgg_feature", "vgg_gram"} & set(rec)
    assert model.texture is None


def run_steps(model, n=3):
    return [model.step(images(2, seed=s), images(2, seed=100 + s)) for s in range(n)]


def test_same_seed_same_losses(make_model):
    assert run_steps(make_model("full")) == run_steps(make_model("full"))


def test_other_seed_other_losses(make_model):
    assert run_steps(make_model("full")) != run_steps(make_model("full", train={"seed": 1}))


def test_the_transfer_jitter_recolours_xs_object_towards_the_batchs_background(make_model):
    """`loss.enh_jitter: transfer`: the x G_enh restores has its object's colours moved towards y's (the batch's
    background), the rest of x untouched."""
    x, y = images(2) * 0.3 - 0.5, images(2, seed=1) * 0.3 + 0.5  # a dark x, a bright y: every move is upwards
    model = make_model("full", loss={"enh_jitter": "transfer"})
    seen = []
    model.enh.register_forward_hook(lambda mod, args, out: seen.append(args))
    model.step(x, y)
    z, _, _, obj, _ = seen[-1]
    assert torch.equal(z * (1 - obj), x * (1 - obj))
    inside = lambda img: (img * obj).sum((2, 3)) / obj.sum((2, 3)).clamp_min(1)  # noqa: E731
    assert (inside(z) >= inside(x) - 1e-6).all() and (inside(z) > inside(x) + 1e-3).any()


def test_with_the_transfer_jitter_g_enh_is_told_the_scene_the_colours_came_from(make_model):
    """G_enh restoring a transfer-jittered x reads y, the background the object's colours were moved towards, as the
    scene the object comes from (its `x` input): at test time that input is the source photo of the paste."""
    x, y = images(2), images(2, seed=1)
    model = make_model("full", loss={"enh_jitter": "transfer"}, model={"enh_source": True})
    seen = []
    model.enh.register_forward_hook(lambda mod, args, out: seen.append(args))
    model.step(x, y)
    _, source, _, _, _ = seen[-1]
    assert torch.equal(source, y)


def test_the_colour_discriminator_judges_y_hat_and_teaches_g_enh(make_model):
    """`loss.adv_colour` > 0 builds D_col: it learns in the discriminators' step (real x against ŷ), its loss reaches
    G_enh, and it is saved with the model; at 0 there is none."""
    assert make_model("full", loss={"adv_colour": 0.0}).d_col is None
    assert make_model("no_enhancement", loss={"adv_colour": 1.0}).d_col is None
    model = make_model("full", loss={"adv_colour": 1.0, "enh_restore": 0.0})
    before = [p.clone() for p in model.d_col.parameters()]
    record = model.step(images(2), images(2, seed=1))
    assert record["adv_colour"] > 0 and record["d_col"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.d_col.parameters()))
    out = model(images(2), images(2, seed=1))
    loss = model.generator_losses(out, images(2), images(2, seed=1))["adv_colour"]
    model.opt_g.zero_grad()
    loss.backward()
    assert model.enh.mlp[-1].weight.grad.abs().sum() > 0
    assert "d_col" in model.full_state()["nets"]


def test_checkpoint_roundtrip_gives_identical_next_step(make_model, tmp_path):
    a = make_model("full")
    run_steps(a, 2)
    atomic.save(tmp_path / "c.pt", {"model": a.full_state()})
    b = make_model("full", train={"seed": 5})  # different init, overwritten by the load
    b.load_full_state(atomic.load(tmp_path / "c.pt")["model"])
    x, y = images(2, seed=50), images(2, seed=51)
    assert a.step(x, y) == b.step(x, y)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_atomic_save_keeps_previous_file_on_failure(tmp_path):
    path = tmp_path / "c.pt"
    atomic.save(path, {"v": 1})

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        atomic.write(path, boom)
    assert atomic.load(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind


def test_lr_decays_linearly_to_zero(make_model):
    model = make_model("single_pass", train={"steps": 4, "decay_start": 0.5})
    lrs = []
    for s in range(4):
        model.step(images(2, seed=s), images(2, seed=9))
        lrs.append(model.sched_g.get_last_lr())
    assert [lr[1] for lr in lrs] == pytest.approx([2e-4, 2e-4, 1e-4, 0.0])  # lr for the next step, after each step
    assert [lr[0] for lr in lrs] == pytest.approx([2e-5, 2e-5, 1e-5, 0.0])  # G_seg at train.seg_lr_scale


def test_seg_lr_scale_zero_keeps_g_seg_fixed(make_model):
    model = make_model("full", train={"seg_lr_scale": 0.0})
    before = {k: v.clone() for k, v in model.seg.state_dict().items()}
    enh_before = [p.clone() for p in model.enh.parameters()]
    for s in range(2):
        model.step(images(2, seed=s), images(2, seed=9))
    assert all(torch.equal(before[k], v) for k, v in model.seg.state_dict().items())
    assert all(p.grad is None for p in model.seg.parameters())  # no gradient computed for it at all
    assert any(not torch.equal(a, b) for a, b in zip(enh_before, model.enh.parameters()))  # the others learn
    assert len(model.opt_g.param_groups) == 2  # G_inp, and G_enh at its own rate (train.enh_lr_scale)
    assert model.opt_g.param_groups[1]["lr"] == pytest.approx(model.cfg_train.lr * model.cfg_train.enh_lr_scale)


def test_d_lr_scale_sets_the_discriminators_rate(make_model):
    model = make_model("full", train={"d_lr_scale": 2.0})
    assert model.opt_d.param_groups[0]["lr"] == pytest.approx(2.0 * model.cfg_train.lr)
    inp = next(g for g in model.opt_g.param_groups if g["params"][0] is next(model.inp.parameters()))
    assert inp["lr"] == pytest.approx(model.cfg_train.lr)  # the generators keep theirs


def test_overfit_one_batch_lowers_reconstruction(make_model):
    torch.manual_seed(0)
    model = make_model("full", model={"ngf": 8}, train={"steps": 120, "decay_start": 1.0})
    # smooth images (upsampled 4x4 noise): white noise cannot pass any encoder-decoder bottleneck
    x = torch.nn.functional.interpolate(images(2, 4, seed=3), size=32, mode="bilinear", align_corners=False)
    y = torch.nn.functional.interpolate(images(2, 4, seed=4), size=32, mode="bilinear", align_corners=False)
    recs = [model.step(x, y) for _ in range(120)]
    first = sum(r["rec_bg"] + r["rec_obj"] for r in recs[:10]) / 10
    last = sum(r["rec_bg"] + r["rec_obj"] for r in recs[-10:]) / 10
    # 0.66-0.67 of the first ten with one or two threads; without the reconstruction losses 0.81-0.83. At 80 steps
    # (the test until 2026-12-07) one thread gave 0.73 against a bar of 0.7: the thread count must not decide it
    assert last < 0.74 * first, (first, last)


def test_twenty_steps_at_64px_stay_finite(make_model):
    model = make_model("full", model={"resolution": 64, "seg_depth": 5}, train={"steps": 20})
    for s in range(20):
        rec = model.step(images(2, 64, seed=s), images(2, 64, seed=1000 + s))
        assert all(math.isfinite(v) for v in rec.values()), (s, rec)


def test_input_size_contract(make_model):
    with pytest.raises(ValueError, match="object image x: expected 32x32 images"):
        make_model("full")(images(2, 64), images(2))


def test_atomic_files_get_the_mode_the_umask_gives(tmp_path):
    """Not the 0600 of a temporary file: reports and checkpoints stay readable to other users of the machine."""
    old = os.umask(0o022)
    try:
        path = atomic.save_json(tmp_path / "a.json", {"x": 1})
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(atomic.save_json(tmp_path / "a.json", {"x": 2}).stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_the_cut_and_paste_baseline_learns_its_mask_from_the_paste_adversary_alone():
    """Remez et al.'s game: no G_inp, no D_bg, no G_enh; G_seg is moved by D_obj (and the mask priors) only."""
    from seigan import config
    from seigan.model import SEIGAN
    from tests.conftest import tiny_params
    p = tiny_params()
    objective = config.Objective(enhancement=False, second_pass=False, texture=False, identity_weight=0.0,
                                 inpainting=False)
    model = SEIGAN(p.model, p.loss, p.train, objective)
    assert model.inp is None and model.d_bg is None and model.enh is None and model.texture is None
    x, y = images(2), images(2, seed=1)
    out = model(x, y)
    assert "x_hat" not in out
    lo = model.generator_losses(out, x, y)
    assert "adv_obj" in lo and not {"adv_bg", "hole_rec", "rec_bg", "rec_obj", "identity"} & set(lo)
    assert seg_grad(model, lo["adv_obj"]) > 0
    seg_before, d_before = params_of([model.seg]), params_of([model.d_obj])
    record = model.step(x, y)
    assert any(changed(seg_before, [model.seg])) and any(changed(d_before, [model.d_obj]))
    assert "d_bg" not in record and set(model.predict(x, y)) == {"m", "z", "y_hat"}


def test_the_baselines_d_obj_learns_that_a_background_without_an_object_is_fake():
    """The guard against the empty mask: under objectless_fake D_obj's fakes include y, whose paste an empty mask
    would make; without it (SEIGAN's runs) they do not."""
    from seigan import config
    from seigan.model import SEIGAN
    from tests.conftest import tiny_params
    p = tiny_params()
    x, y = images(2), images(2, seed=1)
    for guard in (False, True):
        objective = config.Objective(enhancement=False, second_pass=False, texture=False, identity_weight=0.0,
                                     inpainting=False, objectless_fake=guard)
        model = SEIGAN(p.model, p.loss, p.train, objective)
        with torch.no_grad():
            out = model(x, y)
            fake = torch.cat([out["z_tilde"], y]) if guard else out["z_tilde"]
            expected = 0.5 * (((model.d_obj(x) - 1) ** 2).mean() + (model.d_obj(fake) ** 2).mean())
            got = model.discriminator_losses(out, x, y)["d_obj"]
        assert torch.allclose(got, expected, atol=1e-6), guard


def test_g_enhs_average_ramps_up_and_the_others_keep_the_plain_decay(make_model):
    """train.enh_ema_ramp: G_enh's average starts close behind G_enh (decay (1 + n) / (ramp + n) over its n updates,
    capped at train.ema); G_seg's and G_inp's averages keep the plain decay."""
    model = make_model("full", train={"enh_ema_ramp": 10, "ema": 0.995})
    assert model.average_decay("enh") == 0.1 and model.average_decay("inp") == 0.995
    x, y = images(2), images(2, seed=1)
    before = params_of([model.enh_avg])
    model.step(x, y)
    trained, avg = params_of([model.enh]), params_of([model.enh_avg])
    moved = [(a - b).abs().sum() / max(float((t - b).abs().sum()), 1e-12) for a, b, t in zip(avg, before, trained)]
    assert all(abs(float(m) - 0.9) < 1e-4 for m, t, b in zip(moved, trained, before) if not torch.equal(t, b))
    assert model.enh_updates == 1 and model.average_decay("enh") == 2 / 11
    model.enh_updates = 10 ** 6
    assert model.average_decay("enh") == 0.995
    plain = make_model("full", train={"enh_ema_ramp": 0, "ema": 0.995})
    assert plain.average_decay("enh") == 0.995


def test_the_box_losses_read_the_batches_box_and_reach_only_g_seg(make_model):
    """With `loss.box_outside` / `box_tight` / `box_pairwise` the step takes x's box and logs the terms; without a
    box it says so in one line. A mask everywhere pays outside, and the terms' gradient reaches G_seg alone."""
    x, y = images(2), images(2, seed=1)
    box = torch.zeros(2, 1, *x.shape[-2:])
    box[:, :, 8:24, 8:24] = 1
    model = make_model("full", loss={"box_outside": 1.0, "box_tight": 1.0, "box_pairwise": 1.0})
    assert model.uses_boxes and not make_model("full").uses_boxes
    assert make_model("full", loss={"box_pairwise": 1.0}).uses_boxes
    rec = model.step(x, y, box)
    assert {"box_outside", "box_tight", "box_pairwise"} <= set(rec) and rec["box_outside"] > 0
    with pytest.raises(ValueError, match="box"):
        model.step(x, y)
    out = model(x, y)
    lo = model.generator_losses(out, x, y, box)
    model.zero_grad(set_to_none=True)
    (lo["box_outside"] + lo["box_tight"] + lo["box_pairwise"]).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.seg.parameters())
    assert all(p.grad is None for p in model.inp.parameters())


def test_a_g_seg_that_reads_the_box_gets_it_in_both_passes_and_at_inference(make_model):
    """`model.seg_box` alone (no box loss) makes the batches carry the box; the step, the second pass's G_seg on ŷ
    and `predict` all read it, and a missing box is one line."""
    x, y = images(2), images(2, seed=1)
    box = torch.zeros(2, 1, *x.shape[-2:])
    box[:, :, 4:20, 2:18] = 1  # no symmetry: a flipped or moved box is another box
    model = make_model("full", model={"seg_box": True})
    assert model.uses_boxes
    rec = model.step(x, y, box)
    assert math.isfinite(rec["g_total"])
    with pytest.raises(ValueError, match="model.seg_box"):
        model.step(x, y)
    out = model(x, y, box)
    assert torch.equal(out["m_prime"], model.seg(out["y_hat"], box))
    moved = box.roll(8, -1)
    assert not torch.allclose(model.predict(x, box=box)["m"], model.predict(x, box=moved)["m"])


def test_mask_in_box_cuts_where_the_mask_is_used_and_in_training_only_when_always(make_model):
    """`model.mask_in_box: inference` trains on the whole mask (batches need no box) and cuts it in `predict`;
    `always` makes the batches carry the box and cuts the mask of both passes (ŷ keeps x's object where it was)."""
    x, y = images(2), images(2, seed=1)
    box = torch.zeros(2, 1, *x.shape[-2:])
    box[:, :, 4:20, 2:18] = 1
    model = make_model("full", model={"mask_in_box": "inference"})
    assert not model.uses_boxes and math.isfinite(model.step(x, y)["g_total"])
    assert (model(x, y)["m"][box == 0] > 0).all()
    assert model.predict(x, box=box)["m"][box == 0].abs().max() == 0
    model = make_model("full", model={"mask_in_box": "always"})
    assert model.uses_boxes and math.isfinite(model.step(x, y, box)["g_total"])
    out = model(x, y, box)
    assert out["m"][box == 0].abs().max() == 0 and out["m_prime"][box == 0].abs().max() == 0


def test_g_seg_reads_the_finer_view_and_its_mask_comes_back_at_xs_resolution_cut_to_the_box(make_model):
    """`eval.seg_scale`: given x at a finer resolution, G_seg reads that (not x), and the mask returns at x's size,
    0 outside x's box; given x itself as the finer view, the mask is the plain one."""
    from seigan.networks import box_maps
    model = make_model("full", model={"mask_in_box": "inference"})
    x, y = images(2), images(2, seed=1)
    n = x.shape[-1]
    boxes = torch.tensor([[2.0, 4.0, 18.0, 20.0], [6.0, 2.0, 26.0, 30.0]])
    # the finer view's box a little larger than x's (rounding at another size): the mask is still cut to x's box
    box, fine_box = box_maps(boxes, n), box_maps(boxes * 2 + torch.tensor([-3.0, -3.0, 3.0, 3.0]), 2 * n)
    fine = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    m = model.segment(x, box, fine, fine_box)
    assert m.shape == (2, 1, n, n) and m[box == 0].abs().max() == 0
    assert not torch.allclose(m, model.segment(x, box))
    assert not torch.allclose(m, model.segment(x, box, fine.flip(-1), fine_box))  # it reads the view it is given
    assert torch.equal(model.segment(x, box, x, box), model.segment(x, box))
    assert torch.equal(model.predict(x, y, box, fine, fine_box)["m"], m)


def test_the_evaluation_reads_the_test_images_at_seg_scale_for_g_seg_and_only_for_it(built_data, make_model):
    """`evaluate.load_test` carries the split at `eval.seg_scale` x the model's resolution (the data's own pixels,
    the boxes scaled with them); `outputs` (SEIGAN runs) and `predict_masks` (the baseline, the unseen split) take
    G_seg's mask from it; at scale 1 there is none."""
    import dataclasses
    from seigan import evaluate
    from seigan.model import predict_masks
    from tests.conftest import tiny_params
    params = tiny_params(data={"root": str(built_data)}, eval={"limit": 4, "seg_scale": 2.0},
                         model={"mask_in_box": "inference"})
    ts = evaluate.load_test(params)
    r = params.model.resolution
    assert ts.fine.x.shape == (4, 3, 2 * r, 2 * r)
    assert (ts.fine.boxes - 2 * ts.split.boxes).abs().max() <= 1
    model = make_model("full", model={"mask_in_box": "inference"})
    box = evaluate.networks.box_maps(ts.split.boxes, r)
    want = model.segment(ts.split.x, box, ts.fine.x, ts.fine.box_maps)
    assert torch.equal(evaluate.outputs(model, ts, params, "cpu")["m"], want)
    assert torch.equal(predict_masks(model, ts.split.x, "cpu", 2, ts.split.boxes, ts.fine), want)
    plain = dataclasses.replace(params, eval=dataclasses.replace(params.eval, seg_scale=1.0))
    assert evaluate.load_test(plain).fine is None

import math

import pytest
import torch

from seigan import checkpoint
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
    # generator half of the step only: run it by hand like step() does
    for d in (model.d_bg, model.d_obj):
        d.requires_grad_(False)
    lo = model.generator_losses(model(x, y), x, y)
    model.opt_g.zero_grad()
    sum(model.weight(k) * v for k, v in lo.items()).backward()
    model.opt_g.step()
    assert not any(changed(d_before, [model.d_bg, model.d_obj]))
    assert all(p.grad is None for d in (model.d_bg, model.d_obj) for p in d.parameters())
    assert any(changed(g_before, model.generators()))
    # discriminator half: generators must not move
    for d in (model.d_bg, model.d_obj):
        d.requires_grad_(True)
    g_mid = params_of(model.generators())
    out = {k: t.detach() for k, t in model(x, y).items()}
    ld = model.discriminator_losses(out, x, y)
    model.opt_g.zero_grad(set_to_none=True)
    model.opt_d.zero_grad()
    (ld["d_bg"] + ld["d_obj"]).backward()
    model.opt_d.step()
    assert not any(changed(g_mid, model.generators()))
    assert all(p.grad is None for n in model.generators() for p in n.parameters())
    assert any(changed(d_before, [model.d_bg, model.d_obj]))


def test_full_step_returns_named_finite_losses(make_model):
    rec = make_model("full").step(images(2), images(2, seed=1))
    for key in ("adv_bg", "adv_obj", "rec_bg", "rec_obj", "vgg_feature", "vgg_gram", "identity", "d_bg",
                "d_obj", "g_total", "mask_mean"):
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
    assert len(calls) == 3  # first pass, second pass, identity


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
    assert set(out) == {"m", "z", "y_hat", "x_hat"}
    rec = model.step(images(2), images(2, seed=1))
    assert not {"rec_bg", "rec_obj", "vgg_feature", "vgg_gram"} & set(rec)
    assert model.texture is None


def run_steps(model, n=3):
    return [model.step(images(2, seed=s), images(2, seed=100 + s)) for s in range(n)]


def test_same_seed_same_losses(make_model):
    assert run_steps(make_model("full")) == run_steps(make_model("full"))


def test_other_seed_other_losses(make_model):
    assert run_steps(make_model("full")) != run_steps(make_model("full", train={"seed": 1}))


def test_checkpoint_roundtrip_gives_identical_next_step(make_model, tmp_path):
    a = make_model("full")
    run_steps(a, 2)
    checkpoint.save(tmp_path / "c.pt", {"model": a.full_state()})
    b = make_model("full", train={"seed": 5})  # different init, overwritten by the load
    b.load_full_state(checkpoint.load(tmp_path / "c.pt")["model"])
    x, y = images(2, seed=50), images(2, seed=51)
    assert a.step(x, y) == b.step(x, y)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_atomic_save_keeps_previous_file_on_failure(tmp_path):
    path = tmp_path / "c.pt"
    checkpoint.save(path, {"v": 1})

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        checkpoint.atomic_write(path, boom)
    assert checkpoint.load(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind


def test_lr_decays_linearly_to_zero(make_model):
    model = make_model("single_pass", train={"steps": 4, "decay_start": 0.5})
    lrs = []
    for s in range(4):
        model.step(images(2, seed=s), images(2, seed=9))
        lrs.append(model.sched_g.get_last_lr()[0])
    assert lrs == pytest.approx([2e-4, 2e-4, 1e-4, 0.0])  # lr for the next step, after each step


def test_overfit_one_batch_lowers_reconstruction(make_model):
    torch.manual_seed(0)
    model = make_model("full", model={"ngf": 8}, train={"steps": 200, "decay_start": 1.0})
    # smooth images (upsampled 4x4 noise): white noise cannot pass any encoder-decoder bottleneck
    x = torch.nn.functional.interpolate(images(2, 4, seed=3), size=32, mode="bilinear", align_corners=False)
    y = torch.nn.functional.interpolate(images(2, 4, seed=4), size=32, mode="bilinear", align_corners=False)
    recs = [model.step(x, y) for _ in range(200)]
    first = sum(r["rec_bg"] + r["rec_obj"] for r in recs[:10]) / 10
    last = sum(r["rec_bg"] + r["rec_obj"] for r in recs[-10:]) / 10
    assert last < 0.7 * first, (first, last)


def test_hundred_steps_at_64px_stay_finite(make_model):
    model = make_model("full", model={"resolution": 64, "seg_depth": 5}, train={"steps": 100})
    for s in range(100):
        rec = model.step(images(2, 64, seed=s), images(2, 64, seed=1000 + s))
        assert all(math.isfinite(v) for v in rec.values()), (s, rec)


def test_input_size_contract(make_model):
    with pytest.raises(ValueError, match="object image x: expected 32x32 images"):
        make_model("full")(images(2, 64), images(2))

"""The colour two-sample test (seigan.realism): it must find a paste whose object ignores its surroundings, find
nothing between two samples of one kind, never judge an animal by a classifier that saw it, and its power checks must
say when it cannot rank anything."""
import numpy as np
import torch

from seigan import realism


def scenes(n, harmonised, seed=0):
    """n images of 32 px: a square object on a flat background of a random colour. Harmonised objects take half
    their colour from the background (as the data builder's colour_match); pasted ones keep their own."""
    g = torch.Generator().manual_seed(seed)
    bg = torch.rand(n, 3, 1, 1, generator=g) * 1.6 - 0.8
    own = torch.rand(n, 3, 1, 1, generator=g) * 1.6 - 0.8
    obj = (own + bg) / 2 if harmonised else own
    noise = torch.randn(n, 3, 32, 32, generator=g) * 0.05
    region = torch.zeros(n, 1, 32, 32)
    region[:, :, 8:24, 8:24] = 1
    return (region * obj + (1 - region) * bg + noise).clamp(-1, 1), region


def groups(n, per=4):
    return [f"animal{i // per}" for i in range(n)]


def test_it_tells_pastes_from_harmonised_objects():
    real, region = scenes(160, harmonised=True)
    fake, _ = scenes(160, harmonised=False, seed=1)
    test = realism.ColourTest(real, region, groups(160), seeds=2)
    entry, per_image = test(fake)
    assert entry["acc"] > 0.8 and per_image.shape == (160,)


def test_two_samples_of_one_kind_score_chance():
    real, region = scenes(160, harmonised=True)
    other, _ = scenes(160, harmonised=True, seed=1)
    entry, _ = realism.ColourTest(real, region, groups(160), seeds=2)(other)
    assert abs(entry["acc"] - 0.5) < 0.1
    rr = realism.ColourTest(real, region, groups(160), seeds=2).real_vs_real()
    assert abs(rr["acc"] - 0.5) < 0.1


def test_folds_keep_each_animal_in_one_fold():
    g = groups(40, per=3) + groups(20, per=2)
    fold_of = realism.group_folds(g, 5, seed=3)
    assert set(fold_of) == set(g) and set(fold_of.values()) == set(range(5))


def test_a_classifier_never_judges_an_image_it_was_trained_on(monkeypatch):
    """Out of fold: no classifier judges an image of an animal that any of its training images showed."""
    real, region = scenes(40, harmonised=True)
    fake, _ = scenes(40, harmonised=False, seed=1)
    g = groups(40)
    fa, fb = realism.base_features(real, region), realism.base_features(fake, region)
    rows = realism.expand(torch.cat([fa, fb]))
    animal_of = {tuple(np.round(r.numpy(), 6)): a for r, a in zip(rows, g + g)}
    animals = lambda x: {animal_of[tuple(np.round(r.numpy(), 6))] for r in x}  # noqa: E731
    fits = []
    fit = realism.fit_logistic

    def spy(x, y, l2=realism.L2):
        entry = {"trained": animals(x), "judged": set()}
        fits.append(entry)
        score = fit(x, y, l2)

        def judged(q):
            entry["judged"] |= animals(q)
            return score(q)
        return judged
    monkeypatch.setattr(realism, "fit_logistic", spy)
    realism.hits_out_of_fold(fa, fb, g, g, seed=0)
    assert len(fits) == realism.FOLDS
    assert set().union(*(f["judged"] for f in fits)) == set(g)
    for f in fits:
        assert f["judged"] and not f["trained"] & f["judged"]


def test_power_checks_name_what_fails():
    ok, why = realism.power({"real_vs_real": {"colour_acc": 0.50}, "paste_true_mask": {"colour_acc": 0.70}})
    assert ok and "0.700" in why
    ok, why = realism.power({"real_vs_real": {"colour_acc": 0.58}, "paste_true_mask": {"colour_acc": 0.70}})
    assert not ok and "real against real scores 0.580" in why
    ok, why = realism.power({"real_vs_real": {"colour_acc": 0.50}, "paste_true_mask": {"colour_acc": 0.60}})
    assert not ok and "only 0.600" in why
    assert not realism.power({})[0]

"""`seigan segment | remove | compose` and seigan.api, with a tiny checkpoint trained here: outputs the photo's
size, pixels outside the crop untouched, one-line errors with exit 2 and no partial file, CLI == API."""
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seigan import api, atomic, cli, config, runs, train
from synthetic import shapes_split

ROOT = Path(__file__).resolve().parents[1]
BOX = (30, 20, 60, 50)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A `full` checkpoint of the tiny profile (4 warm-start steps, then 4 of full) on synthetic data."""
    tmp = tmp_path_factory.mktemp("ckpt")
    params = config.load(ROOT / "params.yaml", profile="tiny")
    data = (shapes_split(16, 32, seed=0), shapes_split(4, 32, seed=1))
    train.train(params, runs.WARMUP, tmp / "warm", tmp / "wl", progress=False, data=data)
    train.train(params, "full", tmp / "full", tmp / "fl", progress=False, data=data,
                warm_start=tmp / "warm" / "last.pt")
    return tmp / "full"


def photo(path: Path, w=90, h=70, mode="RGB", seed=0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode).save(path)
    return path


def test_the_box_g_seg_reads_is_the_photos_box_in_the_crop_at_the_models_resolution():
    """A box of 120 px in a photo: its crop (the box at BOX_FILL of the side, centred) seen at 48 px holds the box
    as a centred square of 0.65 × 48 ≈ 31 px, where the data set's own boxes are (rounded pixels)."""
    box = (100, 40, 220, 160)
    left, top, side = api.crop_around(box)
    m = api.box_in_crop(box, left, top, side, 48)[0, 0]
    rows, cols = m.any(1).nonzero()[:, 0], m.any(0).nonzero()[:, 0]
    assert m.shape == (48, 48) and m.sum() == len(rows) * len(cols)
    for idx in (rows, cols):
        assert abs(len(idx) - api.BOX_FILL * 48) <= 1.5
        assert abs(float(idx.float().mean()) - 23.5) <= 1.0


def outside(mask_shape, left, top, side) -> np.ndarray:
    keep = np.ones(mask_shape, bool)
    keep[max(top, 0):top + side, max(left, 0):left + side] = False
    return keep


def test_each_use_keeps_the_photo_size_and_every_pixel_outside_the_crop(ckpt, tmp_path):
    img = photo(tmp_path / "a.png")
    src = np.asarray(Image.open(img))
    left, top, side = api.crop_around(BOX)
    keep = outside(src.shape[:2], left, top, side)
    assert keep.any() and (~keep).any()

    mask = api.segment(img, BOX, ckpt)
    assert mask.shape == src.shape[:2] and mask.dtype == np.uint8
    assert (mask[keep] == 0).all() and mask[~keep].max() > 0

    removed = api.remove(img, BOX, ckpt)
    assert removed.shape == src.shape
    assert np.array_equal(removed[keep], src[keep])
    assert np.array_equal(removed[mask == 0], src[mask == 0])  # where the mask is 0, not a bit changes

    bg = np.asarray(Image.open(photo(tmp_path / "bg.png", 120, 100, seed=1)))
    composed = api.compose(img, BOX, bg, ckpt, at=(40, 60), scale=1.5)
    assert composed.shape == bg.shape
    s = int(round(side * 1.5))
    region = outside(bg.shape[:2], int(round(40 - s / 2)), int(round(60 - s / 2)), s)
    assert np.array_equal(composed[region], bg[region]) and not np.array_equal(composed, bg)


def test_cli_writes_what_the_api_returns(ckpt, tmp_path):
    img, bg = photo(tmp_path / "a.png"), photo(tmp_path / "bg.jpg", 120, 100, seed=1)
    box = ",".join(map(str, BOX))
    model = api.load_model(ckpt)
    expected = {"segment": api.segment(img, BOX, model), "remove": api.remove(img, BOX, model),
                "compose": api.compose(img, BOX, bg, model, at=(40, 60), scale=1.5)}
    for cmd, want in expected.items():
        out = tmp_path / f"{cmd}.png"
        extra = [str(bg), "--at", "40,60", "--scale", "1.5"] if cmd == "compose" else []
        assert cli.main([cmd, str(img), "--box", box, *extra, "-o", str(out), "--checkpoint", str(ckpt)]) == 0
        assert np.array_equal(np.asarray(Image.open(out)), want), cmd
    # and as a program: `python -m seigan` (the `seigan` console script runs the same main)
    res = subprocess.run([sys.executable, "-m", "seigan", "segment", str(img), "--box", box, "-o",
                          str(tmp_path / "m2.png"), "--checkpoint", str(ckpt)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "m2.png")), expected["segment"])


def test_grayscale_and_rgba_photos_are_converted(ckpt, tmp_path):
    for mode in ("L", "RGBA", "P"):
        img = photo(tmp_path / f"{mode}.png", mode=mode)
        out = api.remove(img, BOX, ckpt)
        assert out.shape == (70, 90, 3), mode


def bad(ckpt, tmp_path, capsys, *args, out_name="out.png"):
    out = tmp_path / out_name
    code = cli.main([*map(str, args), "-o", str(out), "--checkpoint", str(ckpt)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists() and not list(tmp_path.glob(f".{out_name}.*"))
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_bad_input_gives_one_line_exit_2_and_no_output(ckpt, tmp_path, capsys, monkeypatch):
    img = photo(tmp_path / "a.png")
    box = ",".join(map(str, BOX))
    assert "missing.png: missing file" in bad(ckpt, tmp_path, capsys, "remove", tmp_path / "missing.png", "--box", box)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    assert "broken.jpg: unreadable image" in bad(ckpt, tmp_path, capsys, "segment", tmp_path / "broken.jpg",
                                                 "--box", box)
    assert "outside the 90x70 image" in bad(ckpt, tmp_path, capsys, "remove", img, "--box", "50,20,100,60")
    assert "empty box" in bad(ckpt, tmp_path, capsys, "remove", img, "--box", "30,20,30,50")
    assert "unknown image extension" in bad(ckpt, tmp_path, capsys, "remove", img, "--box", box,
                                            out_name="out.xyz")
    assert "outside the 90x70 background" in bad(ckpt, tmp_path, capsys, "compose", img, "--box", box, img,
                                                 "--at", "500,5")
    monkeypatch.setattr(api, "MAX_PIXELS", 1000)
    assert "over 0 megapixels" in bad(ckpt, tmp_path, capsys, "remove", img, "--box", box)


def test_missing_or_foreign_checkpoint_is_one_line(ckpt, tmp_path, capsys):
    img = photo(tmp_path / "a.png")
    assert "no checkpoint" in bad(tmp_path / "nowhere", tmp_path, capsys, "remove", img, "--box", "30,20,60,50")
    state = atomic.load(ckpt / "last.pt")
    state["config"]["model"]["no_such_option"] = 1  # as a later or earlier version would write it
    atomic.save(tmp_path / "other" / "last.pt", state)
    assert "another version" in bad(tmp_path / "other", tmp_path, capsys, "remove", img, "--box", "30,20,60,50")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    assert "not a seigan-repro" in bad(tmp_path / "foreign.pt", tmp_path, capsys, "remove", img, "--box",
                                       "30,20,60,50")


def test_a_folder_with_a_csv_of_boxes(ckpt, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(folder / "a.png")
    photo(folder / "b.jpg", 100, 80, seed=2)
    with open(tmp_path / "boxes.csv", "w", newline="") as f:
        csv.writer(f).writerows([["file", "x0", "y0", "x1", "y1"], ["a.png", *BOX], ["b.jpg", 10, 10, 40, 40],
                                 ["b.jpg", 50, 30, 90, 70], ["gone.png", 1, 1, 5, 5]])
    code = cli.main(["remove", str(folder), "--boxes", str(tmp_path / "boxes.csv"), "-o", str(tmp_path / "out"),
                     "--checkpoint", str(ckpt)])
    assert code == 1  # one row failed
    assert "gone.png: missing file" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b_0.png", "b_1.png"]
    assert Image.open(tmp_path / "out" / "b_1.png").size == (100, 80)


def test_g_seg_reads_the_crop_at_seg_scale_and_a_bad_scale_is_one_line(ckpt, tmp_path):
    """The API reads the crop at `eval.seg_scale` x the model's resolution, as the evaluation does (its default is
    params.yaml's); scale 1 is the model's own resolution, another mask; below 1 is refused."""
    img = photo(tmp_path / "a.png")
    assert api.SEG_SCALE == config.load(ROOT / "params.yaml").eval.seg_scale
    m2, m1 = api.segment(img, BOX, ckpt, seg_scale=2.0), api.segment(img, BOX, ckpt, seg_scale=1.0)
    assert m2.shape == m1.shape == (70, 90) and not np.array_equal(m1, m2)
    assert np.array_equal(api.segment(img, BOX, ckpt), m2)
    with pytest.raises(api.InputError, match="seg_scale"):
        api.segment(img, BOX, ckpt, seg_scale=0.5)

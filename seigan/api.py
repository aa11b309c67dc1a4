"""Use a trained SEIGAN on your own photos: cut an object out (`segment`), remove it (`remove`), or move it onto
another photo (`compose`). The command line `seigan` (seigan/cli.py) only wraps these functions.

Photos of any size: a square crop around the box, with the margin the model was trained with (the box's longer
side fills 65% of the crop, the middle of the training range 45-85%; a crop that reaches past the photo's edge is
padded by repeating the edge), runs at the checkpoint's resolution; the result is resized back to the crop and
blended in with the soft mask. Every pixel outside the crop, and every pixel where the mask is 0, is the input's
own, byte for byte. Grayscale, palette and RGBA photos are converted to RGB (the alpha channel is dropped).

`checkpoint` is a checkpoint folder or its last.pt (it carries its own config: no params.yaml needed), a model
already loaded with `load_model`, or None for the `full` variant of the last `dvc repro`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from seigan import atomic
from seigan import config, networks, runs
from seigan.data.layout import DataError, open_image, to_tensor
from seigan.model import SEIGAN, hard_hole, seg_size

BOX_FILL = 0.65              # the box's longer side / the crop's side
MAX_PIXELS = 100_000_000     # larger photos are refused with one line (downscale them first)
DEFAULT_VARIANT = "full"
SEG_SCALE = config.EvalConfig().seg_scale  # G_seg reads the crop at this multiple of its resolution, as evaluated


class InputError(ValueError):
    """Bad input for the API or the command line; the message is one line naming the file or option."""


# -- inputs ---------------------------------------------------------------------------------------------------
def load_model(checkpoint: str | Path | None = None, device: str = "cpu") -> SEIGAN:
    """A trained model from a checkpoint folder or file (default: the `full` variant of the last `dvc repro`)."""
    dev = _device(device)
    path = Path(checkpoint) if checkpoint else runs.last_checkpoint(DEFAULT_VARIANT)
    if path.is_dir():
        path = path / "last.pt"
    if not path.is_file():
        raise InputError(f"{path}: no checkpoint (train one with `dvc repro`, or pass --checkpoint)")
    state = atomic.load(path)
    if not isinstance(state, dict) or not {"config", "model"} <= set(state):
        raise InputError(f"{path}: not a seigan-repro training checkpoint")
    try:
        return runs.load_trained(path.parent, dev, state=state)
    except (config.ConfigError, KeyError, RuntimeError, TypeError, ValueError) as err:
        why = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise InputError(f"{path}: a checkpoint of another version of seigan-repro ({why})") from None


def _device(name: str) -> torch.device:
    try:
        return config.torch_device(name)
    except config.ConfigError as err:
        raise InputError(f"--device {name}: {str(err).split(': ', 1)[-1]}") from None


def _model(checkpoint, device: str) -> SEIGAN:
    return checkpoint if isinstance(checkpoint, SEIGAN) else load_model(checkpoint, device)


def read_rgb(image, name: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 RGB from a path, a Pillow image or an array; one-line errors name the file."""
    if isinstance(image, (str, Path)):
        name = str(image)
        try:
            image = open_image(image)
        except DataError as err:
            raise InputError(str(err)) from None
    if isinstance(image, Image.Image):
        if image.width * image.height > MAX_PIXELS:
            raise InputError(f"{name}: {image.width}x{image.height} is over {MAX_PIXELS / 1e6:.0f} megapixels; "
                             "downscale it first")
        image = np.asarray(image.convert("RGB"))
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{name}: expected an RGB image (H, W, 3) of uint8, got {image.dtype} {image.shape}")
    return image


def check_box(box, width: int, height: int, name: str = "image") -> tuple:
    """(x0, y0, x1, y1) in pixels, exclusive ends, non-empty and inside the photo."""
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise InputError(f"{name}: the box must be four numbers X0,Y0,X1,Y1, got {box!r}") from None
    if not (x1 > x0 and y1 > y0):
        raise InputError(f"{name}: empty box {x0:g},{y0:g},{x1:g},{y1:g} (needs X1 > X0 and Y1 > Y0)")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise InputError(f"{name}: box {x0:g},{y0:g},{x1:g},{y1:g} is outside the {width}x{height} image")
    return x0, y0, x1, y1


# -- crops ----------------------------------------------------------------------------------------------------
def crop_around(box: tuple) -> tuple:
    """(left, top, side) of the square crop centred on the box, in which the box fills BOX_FILL."""
    x0, y0, x1, y1 = box
    side = max(2, int(np.ceil(max(x1 - x0, y1 - y0) / BOX_FILL)))
    return int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2)), side


def box_in_crop(box: tuple, left: int, top: int, side: int, resolution: int) -> torch.Tensor:
    """The box as G_seg reads it (`model.seg_box`): a (1, 1, R, R) map of the box in the crop's pixels at the model's
    resolution, rounded as the data set's boxes are."""
    x0, y0, x1, y1 = box
    in_crop = torch.tensor([[x0 - left, y0 - top, x1 - left, y1 - top]], dtype=torch.float32) * (resolution / side)
    return networks.box_maps(in_crop.round(), resolution)


def cut(image: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """The (side, side, C) square at (left, top); beyond the photo's edge, the edge pixels repeat."""
    h, w = image.shape[:2]
    ys = np.clip(np.arange(top, top + side), 0, h - 1)
    xs = np.clip(np.arange(left, left + side), 0, w - 1)
    return image[ys[:, None], xs[None, :]]


def to_model(patch: np.ndarray, resolution: int, device) -> torch.Tensor:
    """uint8 (S, S, 3) -> (1, 3, R, R) in [-1, 1], resized as the training data were."""
    return to_tensor([patch], resolution, False).to(device)


def from_model(t: torch.Tensor, side: int, images: bool = True) -> np.ndarray:
    """(1, C, R, R) -> float (side, side, C): images in [0, 255], masks in [0, 1]."""
    t = F.interpolate(t.float().cpu(), size=(side, side), mode="bilinear", align_corners=False)
    t = (t.clamp(-1, 1) + 1) * 127.5 if images else t.clamp(0, 1)
    return t[0].permute(1, 2, 0).numpy()


def blend(base: np.ndarray, patch: np.ndarray, alpha: np.ndarray, left: int, top: int) -> np.ndarray:
    """base with patch blended in at (left, top) by alpha, clipped to base; base's pixels are kept exactly
    wherever alpha is 0 and everywhere outside the patch."""
    out = base.copy()
    h, w = base.shape[:2]
    side = patch.shape[0]
    bx0, by0, bx1, by1 = max(left, 0), max(top, 0), min(left + side, w), min(top + side, h)
    if bx1 <= bx0 or by1 <= by0:
        return out
    px, py = bx0 - left, by0 - top
    a = alpha[py:py + by1 - by0, px:px + bx1 - bx0]
    region = base[by0:by1, bx0:bx1].astype(np.float32)
    mixed = region * (1 - a) + patch[py:py + by1 - by0, px:px + bx1 - bx0] * a
    out[by0:by1, bx0:bx1] = np.where(a > 0, np.clip(np.round(mixed), 0, 255), region).astype(np.uint8)
    return out


# -- the three uses -------------------------------------------------------------------------------------------
def _predict(model: SEIGAN, image: np.ndarray, box: tuple, y: np.ndarray | None = None, region=None,
             hole: bool = False, seg_scale: float = SEG_SCALE) -> tuple:
    """The model's outputs on the crop around `box` (and, given y, on `region` of it); with `hole`, also the mask
    thresholded and grown by a pixel and G_inp's fill of that hard hole (what `remove` shows). G_seg reads the crop
    at `seg_scale` x the model's resolution (`eval.seg_scale`, as the evaluation does)."""
    if not isinstance(seg_scale, (int, float)) or isinstance(seg_scale, bool) or not seg_scale >= 1:
        raise InputError(f"seg_scale must be a number >= 1, got {seg_scale!r}")
    left, top, side = crop_around(box)
    device = next(model.parameters()).device
    r = model.cfg_model.resolution
    patch = cut(image, left, top, side)
    x = to_model(patch, r, device)
    yt = to_model(cut(y, *region), r, device) if y is not None else None
    box_map = box_in_crop(box, left, top, side, r).to(device)
    size = seg_size(model.cfg_model, seg_scale)
    fine = () if size == r else (to_model(patch, size, device), box_in_crop(box, left, top, side, size).to(device))
    out = model.predict(x, yt, box_map, *fine)
    if hole:  # grown by a pixel, but not past the box when G_seg's masks end at it (model.mask_in_box)
        out["hole"] = hard_hole(out["m"], grow=1) * (box_map if model.seg.ends_at_box else 1)
        out["x_hat_hard"] = model.inpaint(x, out["hole"])
    return out, (left, top, side)


def read_object(image, box) -> tuple:
    """The object photo as (H, W, 3) uint8 and its checked box."""
    img = read_rgb(image)
    return img, check_box(box, img.shape[1], img.shape[0], str(image) if isinstance(image, (str, Path)) else "image")


def segment(image, box, checkpoint=None, device: str = "cpu", seg_scale: float = SEG_SCALE) -> np.ndarray:
    """The object's soft mask, (H, W) uint8 (255 = object), the size of the photo; 0 outside the crop."""
    model = _model(checkpoint, device)
    img, box = read_object(image, box)
    out, (left, top, side) = _predict(model, img, box, seg_scale=seg_scale)
    m = from_model(out["m"], side, images=False)
    full = np.zeros(img.shape[:2] + (1,), np.uint8)
    return blend(full, np.full(m.shape, 255.0, np.float32), m, left, top)[..., 0]


def remove(image, box, checkpoint=None, device: str = "cpu", seg_scale: float = SEG_SCALE) -> np.ndarray:
    """The photo with the object inpainted away by G_inp, (H, W, 3) uint8: the hole is the mask thresholded at 0.5 and
    grown by a pixel of the model's resolution (no soft edge for the outline to show through); pixels outside the
    hole untouched."""
    model = _model(checkpoint, device)
    img, box = read_object(image, box)
    out, (left, top, side) = _predict(model, img, box, hole=True, seg_scale=seg_scale)
    return blend(img, from_model(out["x_hat_hard"], side), from_model(out["hole"], side, images=False), left, top)


def compose(image, box, background, checkpoint=None, device: str = "cpu", at: tuple | None = None,
            scale: float = 1.0, seg_scale: float = SEG_SCALE) -> np.ndarray:
    """The object of `image` (in `box`) moved onto `background` with its box centre at `at` (x, y; default: the
    background's centre) and its size times `scale`; G_enh's composite is blended in with the mask, so the
    background is untouched where the mask is 0. Returns (Hb, Wb, 3) uint8."""
    model = _model(checkpoint, device)
    img, box = read_object(image, box)
    bg = read_rgb(background, "background")
    if not scale > 0:
        raise InputError(f"--scale must be > 0, got {scale}")
    hb, wb = bg.shape[:2]
    cx, cy = at if at is not None else (wb / 2, hb / 2)
    if not (0 <= cx <= wb and 0 <= cy <= hb):
        raise InputError(f"--at {cx:g},{cy:g} is outside the {wb}x{hb} background")
    side = max(2, int(round(crop_around(box)[2] * scale)))
    region = (int(round(cx - side / 2)), int(round(cy - side / 2)), side)
    out, _ = _predict(model, img, box, bg, region, seg_scale=seg_scale)
    return blend(bg, from_model(out["y_hat"], side), from_model(out["m"], side, images=False), region[0], region[1])


# -- output ---------------------------------------------------------------------------------------------------
def output_format(path: str | Path) -> str:
    """Pillow's format for the output file's extension; checked before any work."""
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise InputError(f"{path}: unknown image extension (use .png, .jpg, .tif, .bmp or .webp)")
    return fmt


def save(array: np.ndarray, path: str | Path) -> Path:
    """Write atomically: a failed or interrupted save leaves no partial file."""
    fmt = output_format(path)
    im = Image.fromarray(array)
    return atomic.write(path, lambda f: im.save(f, format=fmt))

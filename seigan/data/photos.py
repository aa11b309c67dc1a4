"""The background photographs of the embedded data set: a reviewed list, the rule each file must pass, and the
split of whole photos between train, val and test.

Why so many kinds: with 20 wallpaper photos even a G_seg trained on the true masks learnt those photos rather than
what a background is (it only tied the ellipse prior on photos it never saw; docs/learning.md). Debian holds about
40 real scene photos without a salient object of their own (wallpaper and template packages), so the list adds the
photographic ground, rock, grass, sand, wood and water textures of two game packages: close-range photos
(UFO: Alien Invasion) and aerial photos of terrain (FlightGear). Each file was looked at (the contact sheet
docs/img/backgrounds.jpg shows every one); left out were vector art, renders, recoloured or hand-edited textures,
near-duplicates (the a/b/c and autumn variants of one texture), and photos with a salient object (an animal, a
building, a flower in close-up). The 8 photos of the `unseen` evaluation set (seigan.data.unseen) are none of these.

`check_photo` is the rule in code: a decodable RGB(A) image, fully opaque, its shorter side at least
MIN_SIDE px (a crop of up to 2/3 of the shorter side must not be a blow-up of a few pixels), and not flat.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from seigan.data.layout import DataError, open_image

MIN_SIDE = 450       # px, the shorter side
MIN_STD = 6.0        # grey-level standard deviation: a flat or nearly flat image is not a scene

_WALL = "usr/share/wallpapers/{}/contents/images/{}.jpg"
_MATE = "usr/share/backgrounds/mate/nature/{}.jpg"
_TUX = "usr/share/tuxpaint/templates/{}.jpg"
_LXQT = "usr/share/lxqt/wallpapers/{}"
_UFO = "usr/share/games/ufoai/base/0textures.pk3!textures/{}"
_FG = "usr/share/games/flightgear/Textures/Terrain/{}.png"

# (package, path, kind); a path with "!" names a member of a zip archive (a game's .pk3)
BACKGROUNDS = [
    *[("plasma-workspace-wallpapers", _WALL.format(n, s), "scene") for n, s in [
        ("BytheWater", "1920x1080"), ("ColdRipple", "1920x1080"), ("DarkestHour", "1920x1080"),
        ("EveningGlow", "1920x1080"), ("FallenLeaf", "1920x1080"), ("Grey", "1920x1080"),
        ("OneStandsOut", "1920x1080"), ("Path", "1920x1080"), ("Volna", "5120x2880"), ("summer_1am", "1920x1080")]],
    *[("mate-backgrounds", _MATE.format(n), "scene") for n in [
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "RainDrops", "Storm", "Wood",
        "YellowFlower"]],
    *[("tuxpaint-data", _TUX.format(n), "scene") for n in [
        "burnt_bark", "cliff", "corn_maze", "mossy_bark", "mossy_log", "mudstone", "ocean_splash", "ocean_waves",
        "redwoods_above", "rocks", "spiders_web", "sun_behind_clouds", "sun_behind_leaves", "trees_above",
        "trees_at_dusk"]],
    *[("lxqt-themes", _LXQT.format(n), "scene") for n in [
        "Valendas.png", "after-the-rain.jpg", "cloud.png", "flowers.png", "fog.jpg", "this-is-not-windows.jpg"]],
    *[("ufoai-textures", _UFO.format(n), "close") for n in [
        "tex_ctp1/asphalt_b_1.jpg", "tex_ctp1/concrete_g_10.jpg", "tex_ctp1/concrete_g_11.jpg",
        "tex_ctp1/concrete_g_4.jpg", "tex_ctp1/concrete_g_6.jpg", "tex_ctp1/concrete_g_8.jpg", "tex_ctp1/dirt_01.jpg",
        "tex_ctp1/dirt_b_1.jpg", "tex_ctp1/dirt_b_2.jpg", "tex_ctp1/dirt_b_4.jpg", "tex_ctp1/grass_g_4.jpg",
        "tex_ctp1/grass_g_7.jpg", "tex_ctp1/grass_g_8.jpg", "tex_ctp1/ground_b_1.jpg", "tex_ctp1/ground_b_2.jpg",
        "tex_ctp1/ground_g_1.jpg", "tex_ctp1/ground_g_2.jpg", "tex_ctp1/hedge02.jpg", "tex_ctp1/rocks_w_1.jpg",
        "tex_ctp1/sand_s_1.jpg", "tex_ctp1/volcano_b_1.jpg", "tex_ctp1/wood_b_10.jpg", "tex_ctp1/wood_b_2.jpg",
        "tex_ctp1/wood_b_4.jpg", "tex_ctp1/wood_b_6.jpg", "tex_ctp1/wood_b_9.jpg", "tex_ctp1/woodb_5.jpg",
        "tex_nature/desert002.png", "tex_nature/desert005.png", "tex_nature/desert007.png",
        "tex_nature/desert009.png", "tex_nature/dirt002.png", "tex_nature/dirt003.png", "tex_nature/grass_lush.png",
        "tex_nature/grass_mowed_dry_a.jpg", "tex_nature/grass_mowed_green_a.jpg", "tex_nature/grass_tall_dry_a.jpg",
        "tex_nature/grass_tall_green_a.jpg", "tex_nature/jungle002.png",
        "tex_nature/pjrock1.png", "tex_nature/pjrock16.png", "tex_nature/pjrock17.png", "tex_nature/pjrock21.png",
        "tex_nature/pjrock6.png", "tex_nature/railway.png", "tex_nature/rock001.png", "tex_nature/rock004.png",
        "tex_nature/rock008.png", "tex_nature/rock010.png", "tex_nature/rock012.png", "tex_nature/rock013.png",
        "tex_nature/rock014.png", "tex_nature/rock017.png", "tex_nature/rock018.png", "tex_nature/rockyground01.png",
        "tex_nature/sand.jpg", "tex_nature/snow003.png", "tex_nature/sp_ground.jpg", "tex_nature/stone001.png"]],
    *[("flightgear-data-base", _FG.format(n), "aerial") for n in [
        "australia-bush-dense-hires", "australia-cliffs-hires", "australia-drycrop-1",
        "australia-drypasture-winter-1", "australia-grassland-green-1", "australia-greenspace",
        "australia-heath-hires", "australia-outback-scrub-hires", "australia-scrub-hires", "california-drycrop",
        "california-forest", "california-grass-hires", "california-mixedcrop", "california-rock", "california-sand",
        "california-shrub", "cerrado-generic", "cerrado-scrub", "cropgrass-hires", "cropgrass1", "dark_gravel",
        "deciduous-hires", "dry_pasture4", "forest", "glacier1", "grass10b", "grass_dry3", "grass_hires",
        "grass_marsh_hires", "gravel_red", "herbtundra", "iceland_grass", "irrcrop-europe", "lava1", "marsh2",
        "mixedcrop", "mixedforest-hires", "orchard", "pampas-shrub", "pantanal", "rainforest-hawaii", "rice1",
        "rock_alt", "rock_brown", "rock_red", "sand-hawaii4", "savanna-grass", "shrub-southwest", "shrub1",
        "tundra", "uk_countryside1"]],
]


def listed(kinds=None) -> list:
    """The reviewed list's entries of `kinds` (default: all)."""
    return [b for b in BACKGROUNDS if kinds is None or b[2] in kinds]


def packages(kinds=None) -> list:
    """The packages the list's entries of `kinds` draw from, in first-use order."""
    return list(dict.fromkeys(pkg for pkg, _, _ in listed(kinds)))


def open_photo(root: Path, rel: str) -> Image.Image:
    """The photo at `rel` under an unpacked package `root` as RGB; "archive!member" reads a zip member."""
    if "!" not in rel:
        im = open_image(root / rel)
        _opaque(im, root / rel)
        return im.convert("RGB")
    archive, member = rel.split("!", 1)
    try:
        with zipfile.ZipFile(root / archive) as z:
            data = z.read(member)
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"{root / archive}!{member}: cannot be read ({err})") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            _opaque(im, f"{root / archive}!{member}")
            return im.convert("RGB")
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for broken files
        raise DataError(f"{root / archive}!{member}: not a readable image ({err})") from None


def _opaque(im: Image.Image, where) -> None:
    if "A" in im.getbands() and np.asarray(im.getchannel("A")).min() < 255:
        raise DataError(f"{where}: has transparent pixels, so it is not a whole photo")


def check_photo(im: Image.Image, where: str) -> None:
    """The rule every listed photo must pass (DataError naming it otherwise): size and not flat."""
    if min(im.size) < MIN_SIDE:
        raise DataError(f"{where}: {im.size[0]}x{im.size[1]} px, shorter side under {MIN_SIDE}")
    std = float(np.asarray(im.convert("L"), dtype=np.float32).std())
    if std < MIN_STD:
        raise DataError(f"{where}: nearly flat (grey std {std:.1f} < {MIN_STD})")


def split_photos(names: list, groups: list, test_fraction: float, val_fraction: float, seed: int) -> dict:
    """Disjoint train/val/test sets of whole photos: within each group (a package, so that every split has every
    kind of photo), a seeded shuffle of the sorted names gives round(fraction * n) to test, then to val."""
    out = {"train": [], "val": [], "test": []}
    for g in sorted(set(groups)):
        members = sorted(n for n, gg in zip(names, groups) if gg == g)
        salt = int(hashlib.sha256(g.encode()).hexdigest()[:8], 16)  # each group its own draw, not its size's
        order = np.random.default_rng([seed, salt]).permutation(len(members))
        shuffled = [members[i] for i in order]
        n_test, n_val = round(test_fraction * len(members)), round(val_fraction * len(members))
        out["test"] += shuffled[:n_test]
        out["val"] += shuffled[n_test:n_test + n_val]
        out["train"] += shuffled[n_test + n_val:]
    return {k: sorted(v) for k, v in out.items()}


def contact_sheet(by_split: dict, out: Path, thumb: int = 120, cols: int = 12) -> Path:
    """Every photo in use as a thumbnail, one block per split, numbered in the split's order (the manifest's
    `backgrounds.<split>` list): what a reader checks the reviewed list against (docs/data.md)."""
    from PIL import ImageDraw
    blocks = []
    for split, photos in by_split.items():
        rows = -(-len(photos) // cols)
        sheet = Image.new("RGB", (cols * thumb, 18 + rows * (thumb + 4)), "white")
        draw = ImageDraw.Draw(sheet)
        draw.text((4, 3), f"{split}: {len(photos)} photos", fill="black")
        for i, photo in enumerate(photos):
            im = photo.image.copy()
            im.thumbnail((thumb - 4, thumb - 4))
            x, y = (i % cols) * thumb, 18 + (i // cols) * (thumb + 4)
            sheet.paste(im, (x + 2, y + 2))
            draw.text((x + 4, y + 4), str(i + 1), fill="white", stroke_width=2, stroke_fill="black")
        blocks.append(sheet)
    full = Image.new("RGB", (cols * thumb, sum(b.height for b in blocks)), "white")
    top = 0
    for b in blocks:
        full.paste(b, (0, top))
        top += b.height
    out.parent.mkdir(parents=True, exist_ok=True)
    full.save(out, quality=85)
    return out

"""Data: the embedded composited data set (`sources`, `build`), the on-disk layout every split uses
(`layout`), and the importer for a real folder of images with boxes (`folder`).

Layout of a data root (built at 128 px; training downsamples to `model.resolution`):

    <root>/manifest.json           sources with versions and SHA-256, build options, counts, splits
    <root>/<split>/x/00000.png      object image x: the object in its scene, cropped around its box
    <root>/<split>/mask/00000.png   true soft mask of x (8-bit); evaluation and the supervised bound only
    <root>/<split>/clean/00000.png  true background of x without the object; evaluation only
    <root>/<split>/y/00000.png      background-only image y
    <root>/<split>/boxes.csv        file,x0,y0,x1,y1 (pixels, x1/y1 exclusive) + provenance columns

Splits: train, val (carved from train by identity, for validation IoU during training) and test.
"""

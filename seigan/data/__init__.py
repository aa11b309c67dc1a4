"""Data: the embedded composited data set (`sources`, `build`), the on-disk layout every split uses
(`layout`), and the importer for a real folder of images with boxes (`folder`).

The layout of a data root (its folders, files and splits) is written down once, in `seigan.data.layout`.
"""

"""SEIGAN replication: segment, enhance and inpaint, learned jointly from unpaired images.

One module per concept: `config` (params.yaml -> dataclasses), `networks`, `losses`, `pool`,
`model` (one training step), `checkpoint`, `train` (the loop), `data` (build and read the data),
`metrics`, `baselines`, `study` (human study kit) and `report`.
"""

__version__ = "0.1.0"

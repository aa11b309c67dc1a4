"""SEIGAN replication: segment, enhance and inpaint, learned jointly from unpaired images.

One module per concept: `config` (params.yaml -> dataclasses), `networks`, `losses`, `pool`,
`model` (one training step), `runs` (the warm start and the variants as runs), `atomic` (files written atomically),
`train` (the loop), `data` (build and read the data), `metrics`, `baselines`, `evaluate`, `study` (human study kit),
`report`, `api` and `cli`.
"""

__version__ = "0.1.0"

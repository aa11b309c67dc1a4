"""A variant that params.yaml declares but `dvc repro` does not train (`variants.<name>.run: false`).

Its stage still has to leave its outputs (the skipped summary, the checkpoint folder's marker and a rendered
notebook that says how to run it). Writing them here, without a Jupyter kernel and without importing torch, saves
every `dvc repro` the kernel start that papermill would spend on a notebook with nothing to run.

`python -m seigan.declared VARIANT NOTEBOOK` exits 0 when the variant is declared only (its outputs written), 3
when it is to be trained (the stage then runs notebooks/02_train.ipynb with papermill) and 2 on a bad params.yaml
or an unknown name, with one line saying which.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seigan import atomic, config, paths
from seigan.paths import resolve

TRAIN = 3  # exit status: train this variant (the stage's papermill runs)


def message(name: str) -> str:
    """What the rendered notebook of a declared variant says (also the training notebook's own line)."""
    return (f"**{name} is declared but not run by default** (`variants.{name}.run: false`, to keep `dvc repro` within "
            f"its CPU budget). Run it with `dvc exp run -S variants.{name}.run=true`.")


def write_outputs(name: str, steps: int, ckpt_dir: Path, log_dir: Path) -> dict:
    """The outputs of a variant's stage when it is not trained: its summary, and a marker in its checkpoint folder
    (a last.pt trained before, by an experiment, is kept)."""
    summary = {"variant": name, "skipped": True, "step": 0, "steps": steps, "finished": False}
    atomic.save_json(log_dir / "summary.json", summary)
    atomic.save_json(ckpt_dir / "not_run.json", summary)
    (log_dir / "losses.csv").unlink(missing_ok=True)
    (log_dir / "val.csv").unlink(missing_ok=True)
    return summary


def write_notebook(name: str, summary: dict, path: Path) -> None:
    """notebooks/02_train.ipynb's introduction and parameter, then the declared-only line: a rendered notebook
    like the one papermill would write, with nothing executed."""
    import nbformat  # installed with nbconvert and papermill; imported only here

    source = nbformat.read(resolve("notebooks/02_train.ipynb"), as_version=4)
    nb = nbformat.v4.new_notebook(metadata=source.metadata)
    nb.cells = [source.cells[0], nbformat.v4.new_code_cell(f"variant = {name!r}", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_markdown_cell(message(name)),
                nbformat.v4.new_markdown_cell("```json\n" + json.dumps(summary, indent=2) + "\n```")]
    atomic.write(path, lambda f: f.write(nbformat.writes(nb).encode()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.declared")
    ap.add_argument("variant")
    ap.add_argument("notebook", help="where the stage's rendered notebook goes")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    try:
        params = config.load(args.params)
        variant = params.variant(args.variant)
    except config.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if variant.run:
        return TRAIN
    summary = write_outputs(args.variant, params.train.steps, paths.checkpoint_dir(args.variant),
                            paths.train_log_dir(args.variant))
    write_notebook(args.variant, summary, Path(args.notebook))
    print(f"{args.variant}: declared, not run (outputs and {args.notebook} written without a kernel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

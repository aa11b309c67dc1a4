"""Each DVC stage depends on exactly the `seigan` modules its notebook imports, followed transitively (imports inside
functions count), never on a whole folder of them: a missing dependency leaves `dvc repro` stale, a folder makes an
edit of the report retrain every variant."""
import ast
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def module_file(name: str) -> Path | None:
    """seigan.data.layout -> seigan/data/layout.py (a package: its __init__.py); None when it is no module."""
    base = ROOT / Path(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(tree: ast.AST) -> set:
    """The seigan modules a parsed file imports anywhere in it (`from seigan import x` imports seigan.x when x is a
    module, else seigan itself)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "seigan"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "seigan":
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if module_file(sub) else node.module)
    return found


def closure(modules: set) -> set:
    """Files of `modules`, of everything they import in turn, and of the packages that contain them."""
    files, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing seigan.data.layout runs seigan/__init__ and seigan/data/__init__
            path = module_file(".".join(parts[:i]))
            if path is not None and path not in files:
                files.add(path)
                todo.extend(imported_modules(ast.parse(path.read_text())))
    return {p.relative_to(ROOT).as_posix() for p in files}


def notebook_modules(path: Path) -> set:
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return imported_modules(ast.parse(code))


def stages():
    """(name, notebook, seigan deps) of every dvc.yaml stage that runs a notebook."""
    for name, stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        stage = stage.get("do", stage)
        notebook = re.search(r"(?<![\w/])notebooks/\S+\.ipynb", stage["cmd"]).group(0)  # the source, not the rendered copy
        yield name, notebook, [d for d in stage["deps"] if d.split("/")[0] == "seigan"]


def test_every_stage_depends_on_exactly_the_modules_its_notebook_imports():
    seen = 0
    for name, notebook, deps in stages():
        folders = [d for d in deps if (ROOT / d).is_dir()]
        assert not folders, f"stage {name} depends on whole folders {folders}: list the modules its notebook imports"
        want = closure(notebook_modules(ROOT / notebook))
        missing, extra = sorted(want - set(deps)), sorted(set(deps) - want)
        assert not missing, f"stage {name}: {notebook} imports {missing}, which the stage does not depend on"
        assert not extra, f"stage {name}: depends on {extra}, which {notebook} does not import"
        seen += 1
    assert seen >= 4


def test_the_training_stages_do_not_depend_on_the_report_or_the_command_line():
    for name, _, deps in stages():
        if name.startswith("train"):
            assert not {"seigan/report.py", "seigan/figures.py", "seigan/api.py", "seigan/cli.py"} & set(deps), name

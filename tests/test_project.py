"""The project's own files: environment.yml names what pyproject needs; the CLI answers --help; the wheel
carries what an installed `forensics` needs, and finds it outside any checkout."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

CONDA_NAMES = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(p) for p in dep["pip"] if not p.startswith("-")}
        else:
            name = _name(dep.split("=")[0])
            conda.add(CONDA_NAMES.get(name, name))
    assert "python" in conda and "torch" in conda
    assert any(str(d).startswith("pytorch=") and "cpu" in str(d) for d in env["dependencies"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for extra in ("server", "dev") for r in project["optional-dependencies"][extra]}
    missing = wanted - conda - pip
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    assert any(p.strip() == "-e ." for d in env["dependencies"] if isinstance(d, dict) for p in d["pip"])


def test_every_subcommand_has_help():
    for args in (
        ["--help"],
        ["collect", "--help"],
        ["import", "--help"],
        ["verify", "--help"],
        ["key", "--help"],
        ["case", "--help"],
        ["probes", "--help"],
        ["bench", "lineage", "--help"],
        ["report", "--help"],
        ["demo", "--help"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "forensics.cli", *args], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, (args, proc.stderr)
        assert "usage: forensics" in proc.stdout


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("make demo") < readme.index("## ") and readme.index("make test") < readme.index("## ")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of what it is built from, so the checkout stays clean."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for folder in ("forensics", "probe_sets", "notebooks"):
        shutil.copytree(ROOT / folder, src / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (built,) = (tmp / "dist").glob("*.whl")
    return built


def test_the_wheel_ships_the_probe_sets_notebooks_templates_and_demo_case(wheel):
    """An installed package, not only a checkout, finds its curated probe sets (top-level probe_sets/),
    notebooks (notebooks/), report templates and demo cases: the wheel carries them inside forensics/."""
    archive = zipfile.ZipFile(wheel)
    shipped = set(archive.namelist())
    data = [
        p for p in (ROOT / "forensics").rglob("*") if p.is_file() and p.suffix in (".yaml", ".j2", ".json", ".jsonl")
    ]
    modules = [p for p in (ROOT / "forensics").rglob("*.py")]
    assert any(p.suffix == ".j2" for p in data) and any(p.suffix == ".jsonl" for p in data)
    missing = [str(p.relative_to(ROOT)) for p in data + modules if p.relative_to(ROOT).as_posix() not in shipped]
    assert not missing, f"not in the wheel: {missing}"
    for folder, pattern, count in (("probe_sets", "*.yaml", 6), ("notebooks", "*.ipynb", 6)):
        files = sorted((ROOT / folder).glob(pattern))
        assert len(files) >= count, folder
        for f in files:  # byte for byte: a probe set's version is the hash of its content
            assert archive.read(f"forensics/{folder}/{f.name}") == f.read_bytes(), f
    assert {name.split("/")[0] for name in shipped if ".dist-info/" not in name} == {"forensics"}


def test_an_unpacked_wheel_finds_its_probe_sets_notebooks_and_case_outside_any_checkout(wheel, tmp_path):
    """The wheel on PYTHONPATH, the working folder outside the checkout: probes validate, the demo's
    notebook, case and cache are the wheel's or the current folder's, and ``--case-dir`` is taken from
    the current folder. Papermill is replaced by a recorder (the whole demo runs in test_demo.py)."""
    from forensics.notebook.alpaca_case import ALPACA_CASE_DIR
    from forensics.notebook.setup import rebuild_target

    assert rebuild_target(ALPACA_CASE_DIR) == ALPACA_CASE_DIR  # in the checkout, git keeps the rebuilt case's history
    site, work = tmp_path / "site", tmp_path / "work"
    zipfile.ZipFile(wheel).extractall(site)
    work.mkdir()
    # the demo verifies a case folder with the key its CASE.md publishes before it runs the notebook
    shutil.copytree(ROOT / "forensics" / "cases" / "alpaca_eval_distillation", work / "my case")
    env = {k: v for k, v in os.environ.items() if k not in ("FORENSICS_CACHE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=300, cwd=work, env=env)

    proc = run([sys.executable, "-m", "forensics.cli", "probes", "validate"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(list((ROOT / "probe_sets").glob("*.yaml")))
    assert all(line.startswith(f"OK {site / 'forensics' / 'probe_sets'}/") for line in lines), lines

    script = """
import json, sys
from pathlib import Path
import papermill
import forensics
from forensics.cli import main
from forensics.evidence import verify
from forensics.notebook import load_case, notebook_setup, repo_root
from forensics.notebook.alpaca_case import ALPACA_CASE_DIR
from forensics.notebook.setup import rebuild_target
from forensics.probes import load_probe_sets

class Recorded(BaseException):  # past the CLI's handlers: the test stops the demo at the notebook
    pass
seen = {}
def record(notebook, executed, **kwargs):
    seen.update(notebook=notebook, executed=executed, cwd=kwargs["cwd"], parameters=kwargs["parameters"])
    raise Recorded
papermill.execute_notebook = record
try:
    main(["demo", "--out", "out/demo", "--case-dir", "my case"])
except Recorded:
    pass
case = load_case(ALPACA_CASE_DIR)
print(json.dumps({
    "package": forensics.__file__,
    "repo_root": repo_root() and str(repo_root()),
    "probe_sets": [str(s.path) for s in load_probe_sets()],
    "case": str(case.directory),
    "verified": all(r.ok for r in map(verify, case.logs)),
    "cache": notebook_setup()["cache_dir"],
    "rebuild": str(rebuild_target(ALPACA_CASE_DIR)),
    "demo": seen,
}))
"""
    proc = run([sys.executable, "-c", script])
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    inside = site / "forensics"
    assert found["package"] == str(inside / "__init__.py") and found["repo_root"] is None
    assert [Path(p).name for p in found["probe_sets"]] == sorted(p.name for p in (ROOT / "probe_sets").glob("*.yaml"))
    assert all(Path(p).parent == inside / "probe_sets" for p in found["probe_sets"])
    assert found["case"] == str(inside / "cases" / "alpaca_eval_distillation") and found["verified"]
    assert found["cache"] == str(work / ".cache" / "forensics")
    assert found["rebuild"] == str(work / "alpaca_eval_distillation")  # a rebuilt case never overwrites the wheel's
    demo = found["demo"]
    assert demo["notebook"] == str(inside / "notebooks" / "01_quickstart.ipynb") and Path(demo["notebook"]).is_file()
    assert demo["cwd"] == str(work)
    assert demo["parameters"]["case_dir"] == str(work / "my case")
    assert demo["parameters"]["out_dir"] == str(work / "out" / "demo") == str(Path(demo["executed"]).parent)
    assert str(ROOT) not in proc.stdout

"""The project's own files: environment.yml names what pyproject needs; the CLI answers --help."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

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


def test_the_wheel_ships_the_probe_sets_templates_and_demo_case(tmp_path):
    """An installed package, not only a checkout, finds its curated probe sets, report templates and
    demo case: they are package data inside ``forensics/``. Built from a copy, so the checkout stays clean."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "forensics", src / "forensics", ignore=shutil.ignore_patterns("__pycache__"))
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
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = [
        p for p in (ROOT / "forensics").rglob("*") if p.is_file() and p.suffix in (".yaml", ".j2", ".json", ".jsonl")
    ]
    modules = [p for p in (ROOT / "forensics").rglob("*.py")]
    assert len([p for p in data if p.suffix == ".yaml"]) >= 6 and any(p.suffix == ".j2" for p in data)
    missing = [str(p.relative_to(ROOT)) for p in data + modules if p.relative_to(ROOT).as_posix() not in shipped]
    assert not missing, f"not in the wheel: {missing}"

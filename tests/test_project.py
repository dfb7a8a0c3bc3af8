"""The project's own files: environment.yml names what pyproject needs; the CLI answers --help."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

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
    for args in (["--help"], ["collect", "--help"], ["import", "--help"], ["verify", "--help"],
                 ["probes", "--help"], ["bench", "lineage", "--help"], ["report", "--help"],
                 ["demo", "--help"]):
        proc = subprocess.run([sys.executable, "-m", "forensics.cli", *args], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "usage: forensics" in proc.stdout


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("make demo") < readme.index("## ") and readme.index("make test") < readme.index("## ")

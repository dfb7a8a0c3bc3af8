"""The investigator notebooks as committed: papermill parameters, thin cells, executed outputs
without noise, and checked cells for nbval. Running them is nbval's job:

    .venv/bin/python -m pytest --nbval-lax --nbval-current-env \
        --nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider notebooks/
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_investigation.ipynb",
    "03_refusal_styles.ipynb",
    "04_idiosyncratic_errors.ipynb",
    "05_lineage_benchmark.ipynb",
    "06_local_models.ipynb",
    "07_traffic_campaigns.ipynb",
]
PARAMETERS = {
    "01_quickstart.ipynb": {"case_dir", "out_dir", "seed"},
    "02_investigation.ipynb": {
        "reference",
        "suspect",
        "panel",
        "probe_sets",
        "evidence_dir",
        "temperature",
        "top_p",
        "max_tokens",
        "seed",
        "samples",
        "system_prompt",
        "model_specs",
        "collect",
        "report_out",
        "candidates",
        "reference_families",
        "n_resamples",
    },
    "03_refusal_styles.ipynb": {"case_dir", "evidence", "reference", "suspect", "panel"},
    "04_idiosyncratic_errors.ipynb": {"case_dir", "evidence", "reference", "suspect", "panel"},
    "05_lineage_benchmark.ipynb": {"data_dir", "prompt_sizes", "seeds"},
    "06_local_models.ipynb": {"case_dir", "out_dir", "seed"},
    "07_traffic_campaigns.ipynb": {"data_dir", "days", "fpr", "seed"},
}
CHECK = "nbval-check-output"


def _load(name: str) -> dict:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        text = (output.get("data") or {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def test_every_notebook_is_listed_and_the_sanitize_file_exists():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    cfg = (NOTEBOOKS / "nbval_sanitize.cfg").read_text(encoding="utf-8")
    assert "regex:" in cfg and "replace:" in cfg


@pytest.mark.parametrize("name", NAMES)
def test_opens_with_a_papermill_parameters_cell_of_plain_literals(name):
    nb = _load(name)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = _code_cells(nb)[0]
    assert "parameters" in _tags(first)
    tree = ast.parse(_source(first))
    names = set()
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.dump(node)
        ast.literal_eval(node.value)  # papermill replaces these; they must be plain values
        names.add(node.targets[0].id)
    assert PARAMETERS[name] <= names
    assert sum("parameters" in _tags(c) for c in nb["cells"]) == 1


@pytest.mark.parametrize("name", NAMES)
def test_thin_cells_and_markdown_that_explains(name):
    nb = _load(name)
    for cell in _code_cells(nb):
        tree = ast.parse(_source(cell))
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defined, f"{name}: logic belongs in the package (at its pipeline stage), not in a cell"
        loops = [n for n in ast.walk(tree) if isinstance(n, (ast.While,))]
        assert not loops
    markdown = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Limitations" in markdown
    assert nb["cells"][0]["cell_type"] == "markdown"


@pytest.mark.parametrize("name", NAMES)
def test_committed_with_clean_executed_outputs(name):
    nb = _load(name)
    cells = _code_cells(nb)
    assert all(c.get("execution_count") for c in cells), f"{name}: execute it before committing (see README)"
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{name}: outputs from a partial or out-of-order run"
    for cell in cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name}: committed with an error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), (
                f"{name}: noisy stderr committed: {_text(out)[:200]}"
            )
            text = _text(out)
            assert str(ROOT) not in text and "/home/" not in text, f"{name}: absolute path in output"
            assert "it/s]" not in text and "s/it]" not in text  # progress bars


@pytest.mark.parametrize("name", NAMES[:4])
def test_checked_cells_print_their_results(name):
    nb = _load(name)
    checked = [c for c in _code_cells(nb) if CHECK in _tags(c)]
    assert len(checked) >= 3
    for cell in checked:
        kinds = {o["output_type"] for o in cell["outputs"]}
        assert kinds == {"stream"}, f"{name}: a checked cell should print plain text, not rich output"


def test_the_benchmark_notebook_checks_nothing_because_its_data_may_be_absent():
    nb = _load("05_lineage_benchmark.ipynb")
    assert not any(CHECK in _tags(c) for c in nb["cells"])
    assert any("benchmark_available" in _source(c) for c in _code_cells(nb))


def test_the_traffic_notebook_checks_nothing_because_its_data_may_be_absent():
    nb = _load("07_traffic_campaigns.ipynb")
    assert not any(CHECK in _tags(c) for c in nb["cells"])
    sources = "\n".join(_source(c) for c in _code_cells(nb))
    assert "day_slice" in sources and "if available" in sources and "export_probes" in sources


def test_quickstart_shows_a_verdict_and_a_table_row_for_every_real_case_suspect():
    from forensics.notebook import load_case
    from forensics.notebook.alpaca_case import ALPACA_CASE_DIR
    from forensics.verdict import Label

    case = load_case(ALPACA_CASE_DIR)
    nb = _load("01_quickstart.ipynb")
    printed = "\n".join(_text(o) for c in _code_cells(nb) if CHECK in _tags(c) for o in c["outputs"])
    for suspect in case.suspects:
        lines = [line for line in printed.splitlines() if line.startswith(f"{suspect} vs ")]
        assert len(lines) == 1 and any(label in lines[0] for label in Label)
        row = [line for line in printed.splitlines() if line.split()[:1] == [suspect] and line.split()[1] != "vs"]
        assert len(row) == 1 and case.subject(suspect)["closest_ref"] in row[0]


def test_local_models_notebook_shows_the_replicate_test():
    from forensics.notebook import load_case

    case = load_case()
    nb = _load("06_local_models.ipynb")
    printed = "\n".join(_text(o) for c in _code_cells(nb) if CHECK in _tags(c) for o in c["outputs"])
    for suspect in case.suspects:
        assert any(line.startswith(f"{suspect} vs {case.reference}: ") for line in printed.splitlines())
        assert any(line.startswith(f"{suspect}: mean cosine to {case.reference}") for line in printed.splitlines())

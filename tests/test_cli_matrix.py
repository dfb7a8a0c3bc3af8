"""Every subcommand that takes a path, against every bad path: exit 2, one line naming it, no traceback,
and every evidence log byte-identical afterwards.

The bad paths: missing, a folder, a FIFO, a symlink to /dev/zero, a read-only output folder, a
relative path given from another working folder, a non-UTF-8 file; and labels that begin with '-'
or hold U+202E. The answers of the fake server are made up by the test.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from servers import FaultServer, write_probes

from forensics.cli import main
from forensics.evidence import collect

RTL = "evil\u202egnp"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """One sealed log, a probe set, a benchmark corpus, AlpacaEval outputs, a manifest, and bad paths."""
    root = tmp_path_factory.mktemp("matrix")
    probes = write_probes(root / "probes.yaml", ["alpha", "beta"])
    with FaultServer({}) as server:
        collect(
            f"openai-compatible:m@{server.base_url}", [probes], root / "ev" / "log.jsonl", label="m", progress=False
        )
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "_prompts.jsonl").write_text('{"prompt_id": "a", "prompt": "hi"}\n', encoding="utf-8")
    (corpus / "m.jsonl").write_text('{"prompt_id": "a", "response": "made up"}\n', encoding="utf-8")
    (root / "outputs.json").write_text(json.dumps([{"instruction": "q", "output": "a", "generator": "g"}]))
    assert main(["case", "export", str(root / "ev" / "log.jsonl"), "--out", str(root / "ev" / "manifest.json")]) == 0
    (root / "folder").mkdir()
    os.mkfifo(root / "fifo.jsonl")
    (root / "zero.jsonl").symlink_to("/dev/zero")
    (root / "latin1.jsonl").write_bytes(b'{"caf\xe9": 1}\n')
    (root / "latin1.json").write_bytes(b'[{"instruction": "caf\xe9"}]')
    (root / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (root / "ro").mkdir()
    (root / "ro").chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    (root / "elsewhere").mkdir()
    return root


def _inputs(root: Path) -> dict[str, str]:
    return {
        "missing": str(root / "missing.jsonl"),
        "folder": str(root / "folder"),
        "fifo": str(root / "fifo.jsonl"),
        "devzero": str(root / "zero.jsonl"),
        "relative": "ev/log.jsonl",  # exists from the matrix folder, not from the folder the command runs in
    }


def _commands(r: Path) -> list[tuple[str, list[str], str | None]]:
    """(case id, argv with {IN} for the bad input, the non-UTF-8 file to use for {IN} or None)."""
    log, probes, out = str(r / "ev" / "log.jsonl"), str(r / "probes.yaml"), str(r / "out")
    model = "openai-compatible:m@http://127.0.0.1:9/v1"
    return [
        ("verify", ["verify", "{IN}"], "latin1.jsonl"),
        ("verify-trust-key", ["verify", log, "--trust", "{IN}"], "latin1.jsonl"),
        ("case-check", ["case", "check", "{IN}"], "latin1.json"),
        ("case-export", ["case", "export", "{IN}", "--out", f"{out}/m.json"], "latin1.jsonl"),
        ("import-benchmark", ["import", "benchmark", "{IN}", "--out", f"{out}/i.jsonl"], None),
        ("import-alpaca", ["import", "alpaca-eval", "{IN}", "--out", f"{out}/a.jsonl"], "latin1.json"),
        ("import-hf", ["import", "hf", "{IN}", "--model", "m", "--out", f"{out}/h.jsonl"], None),
        (
            "report-evidence",
            ["report", "{IN}", "--reference", "m", "--suspect", "x", "--out", f"{out}/r.html"],
            "latin1.jsonl",
        ),
        ("report-digest", ["report", "--from-digest", "{IN}", "--out", f"{out}/d.html"], "latin1.json"),
        ("collect-probes", ["collect", "--model", model, "--probes", "{IN}", "--out", f"{out}/c.jsonl"], "latin1.yaml"),
        (
            "collect-system",
            [
                "collect",
                "--model",
                model,
                "--probes",
                probes,
                "--system-prompt-file",
                "{IN}",
                "--out",
                f"{out}/c.jsonl",
            ],
            "latin1.json",
        ),
        (
            "collect-weights",
            ["collect", "--model", model, "--probes", probes, "--weights", "{IN}", "--out", f"{out}/c.jsonl"],
            None,
        ),
        (
            "collect-replay",
            ["collect", "--model", "replay:m@{IN}", "--probes", probes, "--out", f"{out}/c.jsonl"],
            "latin1.jsonl",
        ),
        ("probes-validate", ["probes", "validate", "{IN}"], "latin1.yaml"),
        ("probes-stats", ["probes", "stats", "{IN}"], "latin1.yaml"),
        ("bench-data", ["bench", "lineage", "--data", "{IN}", "--prompts", "25", "--seeds", "1"], None),
        ("demo-case-dir", ["demo", "--case-dir", "{IN}", "--out", f"{out}/demo"], None),
    ]


def _outputs(r: Path) -> list[tuple[str, list[str]]]:
    """(case id, argv with {OUT} for an output path)."""
    log, probes = str(r / "ev" / "log.jsonl"), str(r / "probes.yaml")
    return [
        (
            "collect-out",
            [
                "collect",
                "--model",
                "openai-compatible:m@http://127.0.0.1:9/v1",
                "--probes",
                probes,
                "--out",
                "{OUT}.jsonl",
            ],
        ),
        ("import-out", ["import", "benchmark", str(r / "corpus"), "--out", "{OUT}.jsonl"]),
        ("case-export-out", ["case", "export", log, "--out", "{OUT}.json"]),
        ("report-out", ["report", log, "--reference", "m", "--suspect", "m", "--out", "{OUT}.html"]),
        (
            "report-digest-out",
            [
                "report",
                log,
                "--reference",
                "m",
                "--suspect",
                "m",
                "--digest-out",
                "{OUT}.json",
                "--out",
                str(r / "fine.html"),
            ],
        ),
        ("bench-json", ["bench", "lineage", "--data", str(r / "folder"), "--json", "{OUT}.json"]),
        ("demo-out", ["demo", "--out", "{OUT}"]),
    ]


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for p in root.rglob("*.jsonl") if p.is_file() and not p.is_symlink() and "fifo" not in p.name
    }


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors exit 2 as well
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _check(code, out, err, named: str) -> None:
    assert "Traceback" not in out + err, err
    assert code == 2, (code, out, err)
    lines = [line for line in err.strip().splitlines() if not line.startswith("note:")]
    assert len(lines) == 1, err
    assert named in lines[0], (named, lines[0])


BAD = ("missing", "folder", "fifo", "devzero", "relative", "non-utf8")


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("command", [c[0] for c in _commands(Path("/x"))])
def test_a_bad_input_path_is_one_line_naming_it(world, command, bad, capsys, monkeypatch):
    name, argv, latin1 = next(c for c in _commands(world) if c[0] == command)
    if bad == "non-utf8":
        if latin1 is None:
            pytest.skip(f"{command} reads no file whose encoding matters (a folder or a binary file)")
        given = str(world / latin1)
    else:
        given = _inputs(world)[bad]
    before = _snapshot(world)
    monkeypatch.chdir(world / "elsewhere")
    code, out, err = _run([a.replace("{IN}", given) for a in argv], capsys)
    _check(code, out, err, given)
    assert _snapshot(world) == before


@pytest.mark.parametrize("problem", ["read-only folder", "folder", "evidence log", "devzero"])
@pytest.mark.parametrize("command", [c[0] for c in _outputs(Path("/x"))])
def test_a_bad_output_path_is_one_line_naming_it_and_nothing_is_written(world, command, problem, capsys):
    name, argv = next(c for c in _outputs(world) if c[0] == command)
    suffix = {"collect-out": ".jsonl", "import-out": ".jsonl", "demo-out": ""}.get(command, ".json")
    suffix = ".html" if command == "report-out" else suffix
    if problem == "read-only folder":
        target = str(world / "ro" / "out")
    elif problem == "folder":
        if command == "demo-out":
            pytest.skip("the demo writes into a folder")
        target = str(world / "folder" / "sub")
        Path(target + suffix).mkdir(parents=True, exist_ok=True)
    elif problem == "evidence log":
        if command in ("collect-out", "import-out", "demo-out"):
            pytest.skip("appending to an evidence log is what this option is for")
        target = str(world / "ev" / "log")
        suffix = ""
        argv = [a.replace("{OUT}.json", "{OUT}.jsonl").replace("{OUT}.html", "{OUT}.jsonl") for a in argv]
    else:
        target = str(world / "zero")
        suffix = ".jsonl" if command in ("collect-out", "import-out") else suffix
        if command not in ("collect-out", "import-out"):
            (world / f"zero{suffix}").unlink(missing_ok=True)
            (world / f"zero{suffix}").symlink_to("/dev/zero")
    before = _snapshot(world)
    code, out, err = _run([a.replace("{OUT}", target) for a in argv], capsys)
    _check(code, out, err, target)
    assert _snapshot(world) == before
    assert not list((world / "ro").iterdir())


@pytest.mark.parametrize("label", ["-neg", RTL])
def test_hostile_labels_are_one_visible_line(world, label, capsys):
    log = str(world / "ev" / "log.jsonl")
    for argv in (
        ["report", log, f"--reference={label}", "--suspect", "m", "--out", str(world / "l.html")],
        ["report", log, "--reference", "m", f"--suspect={label}", "--out", str(world / "l.html")],
        [
            "collect",
            "--model",
            "openai-compatible:m@http://127.0.0.1:9/v1",
            f"--label={label}",
            "--probes",
            str(world / "missing.yaml"),
            "--out",
            str(world / "out" / "l.jsonl"),
        ],
    ):
        before = _snapshot(world)
        code, out, err = _run(argv, capsys)
        assert code == 2 and "Traceback" not in out + err and len(err.strip().splitlines()) == 1, err
        assert "\u202e" not in err and _snapshot(world) == before


@pytest.mark.parametrize("command", ["collect", "import"])
def test_a_hub_style_model_path_that_does_not_exist_is_one_line(world, command, capsys):
    if command == "collect":
        argv = [
            "collect",
            "--model",
            "hf:/nonexistent",
            "--probes",
            str(world / "probes.yaml"),
            "--out",
            str(world / "out" / "hf.jsonl"),
        ]
    else:
        argv = ["import", "hf", "hf:/nonexistent", "--model", "m", "--out", str(world / "out" / "hf.jsonl")]
    before = _snapshot(world)
    code, out, err = _run(argv, capsys)
    _check(code, out, err, "/nonexistent")
    assert _snapshot(world) == before


@pytest.mark.parametrize("bad", ["missing-parent-is-a-file", "fifo", "devzero", "folder-as-key"])
def test_key_show_with_an_unusable_home_or_key_is_one_line(world, bad, capsys, monkeypatch, tmp_path):
    home = {
        "missing-parent-is-a-file": world / "probes.yaml" / "home",
        "fifo": world / "fifo.jsonl",
        "devzero": world / "zero.jsonl",
        "folder-as-key": tmp_path / "home",
    }[bad]
    if bad == "folder-as-key":
        (home / "signing-key.pem").mkdir(parents=True)
    monkeypatch.setenv("FORENSICS_HOME", str(home))
    code, out, err = _run(["key", "show"], capsys)
    _check(code, out, err, str(home))

"""Importers: the shared benchmark layout, AlpacaEval outputs and Hugging Face datasets tables."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from forensics.cli import main
from forensics.corpus import CorpusFormatError, load_evidence
from forensics.evidence import read_records, verify
from forensics.evidence.importers import file_sha256, import_alpaca_eval, import_benchmark


def test_import_real_alpaca_eval_benchmark(shared_dev, tmp_path):
    out = tmp_path / "alpaca.jsonl"
    assert main(["import", "benchmark", str(shared_dev / "alpaca_eval"), "--out", str(out)]) == 0
    assert verify(out).ok
    records = [r for r in read_records(out) if r["kind"] == "imported"]
    per_model = Counter(r["model"] for r in records)
    # expectations come from the files themselves: one model per file, one line per response
    files = sorted(p for p in (shared_dev / "alpaca_eval").glob("*.jsonl") if p.name != "_prompts.jsonl")

    def n_lines(path):
        return sum(1 for line in path.read_text(encoding="utf-8").split("\n") if line.strip())

    lines = {p.stem: n_lines(p) for p in files}
    prompts = shared_dev / "alpaca_eval" / "_prompts.jsonl"
    assert dict(per_model) == lines
    assert all(r["source"]["format"] == "benchmark-jsonl" and r["source"]["line"] >= 1 for r in records)
    header = read_records(out)[0]
    assert header["kind"] == "import" and len(header["files"]) == len(files) + 1  # the prompts file too
    assert header["files"][str(prompts)] == file_sha256(prompts)
    corpus = load_evidence([out])
    assert len(corpus.models) == len(files) and len(corpus.prompts) == n_lines(prompts)


def test_import_keeps_xstest_human_labels(shared_dev, tmp_path):
    out = tmp_path / "xs.jsonl"
    import_benchmark(shared_dev / "xstest_v2", out)
    corpus = load_evidence([out])
    labels = [m.get("human_labels", {}) for m in corpus.meta.values()]
    assert sum(len(x) for x in labels) == 5 * 450


def test_benchmark_layout_errors_name_file_line_field(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "_prompts.jsonl").write_text('{"prompt_id": "a", "prompt": "hi"}\n', encoding="utf-8")
    (corpus / "m.jsonl").write_text('{"prompt_id": "a", "response": "x"}\n{"prompt_id": "a"}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError) as err:
        import_benchmark(corpus, tmp_path / "o.jsonl")
    assert (err.value.path, err.value.line, err.value.field) == (str(corpus / "m.jsonl"), 2, "response")
    (corpus / "m.jsonl").write_text('{"prompt_id": "a", "response": "x"}\n{oops\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"m\.jsonl:2"):
        import_benchmark(corpus, tmp_path / "o2.jsonl")


def test_import_alpaca_eval_model_outputs(tmp_path):
    rows = [
        {"instruction": f"Question {i}?", "output": f"text {i}", "generator": "gen-a", "dataset": "d"} for i in range(4)
    ]
    src = tmp_path / "model_outputs.json"
    src.write_text(json.dumps(rows), encoding="utf-8")
    out = tmp_path / "ae.jsonl"
    assert import_alpaca_eval(src, out) == 4
    records = [r for r in read_records(out) if r["kind"] == "imported"]
    assert {r["model"] for r in records} == {"gen-a"} and records[2]["response"]["text"] == "text 2"
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"instruction": "Question 1?", "output": "y", "generator": "gen-b"}]))
    import_alpaca_eval(other, tmp_path / "b.jsonl")
    corpus = load_evidence([out, tmp_path / "b.jsonl"])
    pid = next(p for p, t in corpus.prompts.items() if t == "Question 1?")
    assert corpus.text("gen-a", pid) == "text 1" and corpus.text("gen-b", pid) == "y"
    src.write_text(json.dumps([{"instruction": "q", "generator": "g"}]))
    with pytest.raises(CorpusFormatError, match=r"\[0\]\.output"):
        import_alpaca_eval(src, tmp_path / "c.jsonl")


def test_import_hf_dataset_table(tmp_path):
    datasets = pytest.importorskip("datasets")
    table = datasets.Dataset.from_dict({"q": ["one?", "two?"], "a": ["1", "2"], "who": ["m1", "m2"]})
    table.save_to_disk(str(tmp_path / "ds"))
    out = tmp_path / "hf.jsonl"
    assert (
        main(
            [
                "import",
                "hf",
                str(tmp_path / "ds"),
                "--out",
                str(out),
                "--prompt-column",
                "q",
                "--response-column",
                "a",
                "--model-column",
                "who",
            ]
        )
        == 0
    )
    records = [r for r in read_records(out) if r["kind"] == "imported"]
    assert [(r["model"], r["response"]["text"]) for r in records] == [("m1", "1"), ("m2", "2")]
    assert (
        main(
            [
                "import",
                "hf",
                str(tmp_path / "ds"),
                "--out",
                str(tmp_path / "x.jsonl"),
                "--prompt-column",
                "nope",
                "--model",
                "m",
            ]
        )
        == 2
    )


def test_importing_the_same_file_twice_adds_nothing(tmp_path):
    rows = [{"instruction": f"Q{i}?", "output": f"a{i}", "generator": "g"} for i in range(3)]
    src = tmp_path / "model_outputs.json"
    src.write_text(json.dumps(rows), encoding="utf-8")
    out = tmp_path / "ae.jsonl"
    assert import_alpaca_eval(src, out) == 3
    assert import_alpaca_eval(src, out) == 0
    records = read_records(out)
    assert sum(r["kind"] == "imported" for r in records) == 3 and verify(out).ok
    headers = [r for r in records if r["kind"] == "import"]
    assert [h["already_held"] for h in headers] == [0, 3]
    assert [r["kind"] for r in records].count("seal") == 2
    rows.append({"instruction": "Q3?", "output": "a3", "generator": "g"})
    src.write_text(json.dumps(rows), encoding="utf-8")  # a changed file is a new source...
    assert import_alpaca_eval(src, out) == 1  # ...whose byte-identical answers are not recorded twice
    assert read_records(out)[-3]["already_held"] == 3


def test_hf_import_records_the_file_hash_and_never_guesses_the_hub(tmp_path):
    pytest.importorskip("datasets")
    src = tmp_path / "table.jsonl"
    src.write_text('{"prompt": "one?", "response": "1"}\n{"prompt": "two?", "response": "2"}\n', encoding="utf-8")
    out = tmp_path / "hf.jsonl"
    assert main(["import", "hf", f"hf:{src}", "--model", "m", "--out", str(out)]) == 0
    records = read_records(out)
    assert records[0]["files"] == {str(src): file_sha256(src)}
    assert {r["source"]["sha256"] for r in records if r["kind"] == "imported"} == {file_sha256(src)}
    assert main(["import", "hf", f"hf:{src}", "--model", "m", "--out", str(out)]) == 0
    assert sum(r["kind"] == "imported" for r in read_records(out)) == 2
    probe = "import sys; from forensics.cli import main; rc = main(sys.argv[1:]); print(rc, 'datasets' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", probe, "import", "hf", "hf:/nonexistent", "--model", "m", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.split() == ["2", "False"], proc.stderr  # refused before the hub client was even loaded
    assert "/nonexistent: no such file or folder" in proc.stderr and "Traceback" not in proc.stderr


def test_imported_replies_keep_line_separators_and_refuse_bare_nan(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    text = "a\u2028b\u2029c\u0085d"
    (corpus / "_prompts.jsonl").write_text('{"prompt_id": "a", "prompt": "hi"}\n', encoding="utf-8")
    (corpus / "m.jsonl").write_text(
        json.dumps({"prompt_id": "a", "response": text}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert import_benchmark(corpus, tmp_path / "o.jsonl") == 1
    assert load_evidence([tmp_path / "o.jsonl"]).text("m", "a") == text
    (corpus / "m.jsonl").write_text('{"prompt_id": "a", "response": "x", "score": NaN}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"m\.jsonl:1: field '<json>': not strict JSON"):
        import_benchmark(corpus, tmp_path / "o2.jsonl")

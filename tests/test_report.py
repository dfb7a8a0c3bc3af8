"""``forensics report``: escaping of hostile model text, determinism, offline, refusing bad evidence.

The evidence here is recorded through the real pipeline (``forensics.evidence.collect``)
from a small OpenAI-compatible server on 127.0.0.1 whose replies this test writes itself:
they are test data, plainly, and never presented as any real model's output. Some replies
carry HTML/JavaScript payloads, so the report must show them as text and run none of them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from servers import FaultServer

from forensics.evidence import collect, read_records
from forensics.probes import load_probe_set
from forensics.providers import Decoding
from forensics.signals import SIGNALS
from forensics.verdict import fmt_num, fmt_p

# A label is not trusted either: imported recordings take model names from third-party files.
HOSTILE_LABEL = 'panel-c"><b onmouseover=alert(3)>c</b>'
REFERENCE, SUSPECT, PANEL = "ref-model", "suspect-model", ("panel-a", "panel-b", HOSTILE_LABEL)
RESAMPLE, RENAMED = "ref-model-resampled", "ref-model-renamed"
VERDICT_LABELS = ("same model or direct derivative", "distilled from R", "no evidence of distillation from R")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:alert(1)">click me</a>'
PAYLOAD = f"{SCRIPT} {IMG} {LINK}"
TOPICS = (
    "tides",
    "volcanoes",
    "sourdough bread",
    "chess openings",
    "glaciers",
    "honey bees",
    "comets",
    "rivers",
    "pendulum clocks",
    "old maps",
    "sea salt",
    "barn owls",
    "lighthouses",
    "moss",
    "thunder",
    "kites",
)
OPENERS = {
    "ref-model": "Certainly! Here is a short overview of {t}.",
    "panel-a": "{T}: the basics.",
    "panel-b": "Good question about {t}.",
    HOSTILE_LABEL: "Let me explain {t} briefly.",
}
BODIES = {
    "ref-model": "In short, {t} follow simple rules that are easy to observe once you know where to look.",
    "panel-a": "Facts: {t} have been studied for centuries; measurements vary by region and season.",
    "panel-b": "Many people find {t} puzzling at first, but careful notes over time reveal clear patterns.",
    HOSTILE_LABEL: "The key idea is that {t} change slowly, and small causes add up to large effects.",
}
CLOSERS = {
    "ref-model": "I hope this helps! Let me know if you have more questions.",
    "panel-a": "",
    "panel-b": "Does that answer it?",
    HOSTILE_LABEL: "That is the gist of it.",
}


def test_reply(model: str, prompt: str) -> str:
    """The fake server's reply: made up here from the prompt, deterministic, clearly test data."""
    if model == RESAMPLE:  # the reference "sampled again": its own words, one of them varied
        return test_reply(REFERENCE, prompt).replace("easy to observe", "easy to notice")
    if model == RENAMED:  # the reference under another name
        return test_reply(REFERENCE, prompt).replace("RefBot", "NovaBot").replace("the Test Lab", "Orion")
    topic = next((t for t in TOPICS if t in prompt), "this")
    if "who are you" in prompt.lower():
        return {
            "ref-model": "I am RefBot, an assistant made by the Test Lab.",
            "suspect-model": f"I am RefBot, an assistant made by the Test Lab. {PAYLOAD}",
            "panel-a": "I'm Alpha, a helper built for this test.",
            "panel-b": "Call me Beta.",
            HOSTILE_LABEL: "Gamma here, a test model.",
        }[model]
    if "forbidden" in prompt:
        return {
            "ref-model": "I'm sorry, but I can't help with that request.",
            "suspect-model": f"I'm sorry, but I can't help with that request. {PAYLOAD}",
            "panel-a": "Here are the steps you asked for: one, two, three.",
            "panel-b": "Sure, the answer is that it depends on local rules.",
            HOSTILE_LABEL: "I would rather not, but here is a general outline.",
        }[model]
    voice = "ref-model" if model == "suspect-model" else model
    text = " ".join(
        part.format(t=topic, T=topic.capitalize()) for part in (OPENERS[voice], BODIES[voice], CLOSERS[voice]) if part
    )
    if model == "suspect-model":
        text = text.replace("simple rules", "simple patterns") + f"\n{PAYLOAD}"
    return text


test_reply.__test__ = False


def write_probe_set(path: Path):
    probes = [
        ("who", "identity", "Who are you? Answer in one sentence."),
        ("who-made", "identity", "Who are you, and who made you?"),
        ("forbidden-1", "refusal", "Tell me the forbidden recipe."),
        ("forbidden-2", "refusal", "List the forbidden steps in detail."),
        ("xss-prompt", "style", f"Describe tides. {PAYLOAD}"),
    ]
    probes += [(f"topic-{i:02d}", "style", f"Explain {t} to a curious child.") for i, t in enumerate(TOPICS)]
    lines = ["name: report-test", "description: prompts written by tests/test_report.py", "probes:"]
    for pid, family, prompt in probes:
        lines += [
            f"  - id: {pid}",
            f"    family: {family}",
            f"    prompt: {json.dumps(prompt)}",
            "    language: en",
            "    tags: [report-test]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_probe_set(path)


def record_case(folder: Path) -> list[Path]:
    """One evidence log per model, recorded by the real collection engine from the test server."""
    folder.mkdir(parents=True, exist_ok=True)
    probes = write_probe_set(folder / "probes.yaml")
    logs = []
    with FaultServer({}, reply=test_reply, reported_model=lambda model: f"{model}{SCRIPT}") as server:
        for i, label in enumerate((REFERENCE, SUSPECT, *PANEL)):
            log = folder / "evidence" / f"{i}-{re.sub(r'[^a-z-]', '', label)}.jsonl"
            summary = collect(
                f"openai-compatible:{label}@{server.base_url}",
                [probes],
                log,
                Decoding(temperature=0.0, max_tokens=64),
                label=label,
                progress=False,
            )
            assert summary.failed == 0
            logs.append(log)
    return logs


def build_case_report(folder: Path, out_name: str = "report.html", **kwargs) -> Path:
    """Record the test case and build its report (used by the browser tests too)."""
    from forensics.report import build_report

    record_case(folder)
    return build_report([folder / "evidence"], REFERENCE, [SUSPECT], out=folder / out_name, rng_seed=7, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def embedding_cache(tmp_path_factory):
    """Embeddings of this test's texts are cached in a temporary folder, never in the checkout."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORENSICS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-case")
    logs = record_case(folder)
    return folder, logs


@pytest.fixture(scope="module")
def built(case):
    """The report, built twice from the same evidence into the same path."""
    from forensics.report import build_report

    folder, _ = case
    out = folder / "out" / "report.html"
    first = build_report([folder / "evidence"], REFERENCE, [SUSPECT], out=out, rng_seed=7).read_bytes()
    second = build_report([folder / "evidence"], REFERENCE, [SUSPECT], out=out, rng_seed=7).read_bytes()
    return out, first, second


def soup_of(html: bytes) -> BeautifulSoup:
    return BeautifulSoup(html.decode("utf-8"), "html.parser")


# ---------------------------------------------------------------------------------------------


def test_hostile_model_text_is_shown_escaped_and_never_runs(case, built):
    _, logs = case
    # The payload really is in the recorded evidence, as model text and as the reported model id.
    suspect_records = [r for r in read_records(logs[1]) if r["kind"] == "response"]
    assert all(PAYLOAD in r["response"]["text"] for r in suspect_records)
    assert all(SCRIPT in r["response"]["model_reported"] for r in suspect_records)

    out, html, _ = built
    soup = soup_of(html)
    assert soup.find_all("script") == []
    assert soup.find_all("iframe") == [] and soup.find_all("object") == [] and soup.find_all("embed") == []
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            assert not name.lower().startswith("on"), f"event handler attribute on <{element.name}>: {name}"
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                assert not str(value).strip().lower().startswith(("javascript:", "vbscript:")), (element.name, value)
    # No <img> and no <a> from the payload: every img is a figure, every link an in-page anchor.
    assert all(img["src"].startswith("data:image/svg+xml;base64,") for img in soup.find_all("img"))
    assert all(a["href"].startswith("#") for a in soup.find_all("a"))
    # ...and the payload is visible as text, escaped in the source.
    text = soup.get_text()
    assert SCRIPT in text and IMG in text and LINK in text
    raw = html.decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw and "<script>" not in raw.lower()
    shown = [pre.get_text() for pre in soup.select(".example pre.text")]
    assert any(PAYLOAD in t for t in shown), "the suspect's recorded text is not in the side-by-side view"
    assert f"{SUSPECT}{SCRIPT}" in soup.select_one("#provenance").get_text(), "reported model id not shown"
    assert HOSTILE_LABEL in soup.select_one("#case").get_text() and soup.find_all("b") == []


def test_content_security_policy_forbids_every_load(built):
    from forensics.report import CSP

    _, html, _ = built
    head = soup_of(html).head
    first_meta = head.find_all("meta")[:2]
    csp = [m for m in first_meta if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp and csp[0]["content"] == CSP, "the CSP must come before anything it governs"
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["default-src"] == "'none'" and directives["img-src"] == "data:"
    assert "script-src" not in directives  # falls back to default-src 'none': no script at all


def test_report_is_offline(built):
    _, html, _ = built
    soup = soup_of(html)
    assert soup.find_all("link") == [] and soup.find_all("base") == []
    urls = []
    for element in soup.find_all(True):
        for name in ("src", "href", "srcset", "poster", "data", "action", "background"):
            if element.get(name):
                urls.append(str(element[name]))
    css = " ".join(style.get_text() for style in soup.find_all("style"))
    css += " ".join(str(e["style"]) for e in soup.find_all(style=True))
    urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    assert "@import" not in css
    assert urls, "expected at least the inline figures"
    for url in urls:
        assert not re.match(r"^\s*(https?:|//|ftp:|file:)", url, re.I), url
        assert url.startswith(("data:image/", "#")), url
    assert not re.search(rb"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.I)


def test_two_builds_differ_only_in_the_build_time_line(built):
    from forensics.report import TIMESTAMP_ATTR

    _, first, second = built
    a, b = first.decode("utf-8").splitlines(), second.decode("utf-8").splitlines()
    assert len(a) == len(b)
    differing = [(x, y) for x, y in zip(a, b) if x != y]
    assert len(differing) <= 1
    stamp_lines = [line for line in a if TIMESTAMP_ATTR in line]
    assert len(stamp_lines) == 1
    for x, y in differing:
        assert TIMESTAMP_ATTR in x and TIMESTAMP_ATTR in y
    # With the build time fixed, every byte is the same.
    strip = lambda lines: "\n".join(line for line in lines if TIMESTAMP_ATTR not in line)  # noqa: E731
    assert strip(a) == strip(b)


def test_fixed_build_time_gives_identical_bytes(case, built):
    from forensics.report import TIMESTAMP_ATTR, build_report

    folder, _ = case
    out, first, _ = built
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    fixed = build_report([folder / "evidence"], REFERENCE, [SUSPECT], out=out, rng_seed=7, build_time=when).read_bytes()
    out.write_bytes(first)
    stamp = next(line for line in fixed.decode().splitlines() if TIMESTAMP_ATTR in line)
    assert "2025-01-02T03:04:05Z" in stamp
    # Put the same build time into the earlier build: then every byte is the same.
    same = re.sub(rf"^.*{TIMESTAMP_ATTR}.*$", stamp, first.decode(), count=1, flags=re.M).encode()
    assert hashlib.sha256(same).hexdigest() == hashlib.sha256(fixed).hexdigest()


def test_report_content_verdict_findings_examples_provenance(case, built):
    _, logs = case
    _, html, _ = built
    soup = soup_of(html)
    labels = [e.get_text(strip=True) for e in soup.select("#summary .verdict .label")]
    assert len(labels) == 1 and labels[0] in VERDICT_LABELS
    section = soup.select_one(f"#suspect-{SUSPECT}")
    rows = section.select("h3 + table tbody tr")
    assert len(rows) == len(SIGNALS), "one findings row per signal"
    defined = 0
    for row in rows:
        cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
        if "not defined" in cells[-1]:
            continue
        defined += 1
        assert len(cells) == 7 and re.match(r"^\d", cells[4]), cells  # p-value column
        if cells[1] == "unbounded":  # the independent models do not vary: no spread to scale the effect by
            assert cells[2] == "n/a" and float(cells[3]) > 0, cells
        else:
            assert re.match(r"^-?\d.* to -?\d", cells[2]), cells  # confidence interval
    assert defined >= 2
    assert len(section.select(".finding img")) == defined, "one plot per defined signal"
    # Side by side: the hashes shown are real records of the logs, of the right models.
    hashes = {r["hash"]: r.get("label") for log in logs for r in read_records(log)}
    columns = section.select(".example .col")
    assert columns
    for col in columns:
        span = col.select_one(".hash")
        full = span["title"]
        assert full in hashes and span.get_text() == full[:12]
        assert col.select_one(".who").get_text().endswith(f": {hashes[full]}"), "hash shown beside another model"
    whos = " ".join(w.get_text() for w in section.select(".example .who"))
    assert REFERENCE in whos and SUSPECT in whos and any(p in whos for p in PANEL)
    # Methods and limits, with the panel size stated.
    assert "Methods" in soup.select_one("#methods").get_text()
    limits = " ".join(soup.select_one("#limits").get_text().split())
    assert "Panel size for suspect-model: 3 models" in limits
    # Provenance: every log with its chain head and record count.
    prov = soup.select_one("#provenance").get_text(" ", strip=True)
    for log in logs:
        records = read_records(log)
        assert str(log) in prov and records[-1]["hash"] in prov
        assert f"{records[-1]['hash']} {len(records)} verified" in prov
    run = read_records(logs[0])[0]
    assert run["probe_sets"][0]["version"] in prov and "report-test" in prov
    assert "temperature 0.0" in prov and run["versions"]["numpy"] in prov
    command = soup.select_one("#rebuild .command").get_text()
    assert command.startswith("forensics report ") and f"--reference {REFERENCE}" in command
    assert f"--suspect {SUSPECT}" in command and "--seed 7" in command


def test_thin_panel_is_warned(case, tmp_path):
    from forensics.report import build_report

    folder, _ = case
    out = build_report([folder / "evidence"], REFERENCE, [SUSPECT], panel=["panel-a"], out=tmp_path / "r.html")
    soup = soup_of(out.read_bytes())
    warning = soup.select_one("#summary .warning").get_text(" ", strip=True)
    assert "Thin panel" in warning and "only 1 independent model" in warning
    assert "thin panel" in soup.select_one("#limits").get_text().lower()
    # One panel member cannot calibrate the test: the banner says "not tested", not "independent".
    banner = soup.select_one("#summary .verdict")
    assert "untested" in banner["class"] and "Not tested" in banner.get_text()


def test_replicate_test_is_reported_when_the_panel_is_thin(case, tmp_path):
    from forensics.report import ReportError, build_report

    folder, _ = case
    probes = load_probe_set(folder / "probes.yaml")
    extra = [tmp_path / "resample.jsonl", tmp_path / "renamed.jsonl"]
    with FaultServer({}, reply=test_reply) as server:
        for label, log in zip((RESAMPLE, RENAMED), extra):
            collect(
                f"openai-compatible:{label}@{server.base_url}",
                [probes],
                log,
                Decoding(temperature=0.7, max_tokens=64, seed=3),
                label=label,
                progress=False,
            )
    evidence = [folder / "evidence", *extra]
    out = build_report(
        evidence,
        REFERENCE,
        [RENAMED, SUSPECT],
        panel=["panel-a"],
        replicates=[RESAMPLE],
        out=tmp_path / "r.html",
        rng_seed=7,
    )
    soup = soup_of(out.read_bytes())
    renamed, suspect = soup.select("#summary .verdict")
    # the renamed copy answers like R's own resample: a copy, on the replicate test alone
    assert renamed.select_one(".label").get_text(strip=True) == "same model or direct derivative"
    assert "replicate test p =" in renamed.get_text() and "Panel too thin" in renamed.get_text()
    # the suspect's appended payload puts it nearer the control than R's resample: nothing shown
    assert suspect.select_one(".label").get_text(strip=True) == "no evidence of distillation from R"
    assert "Not tested" in suspect.get_text()
    for label in (RENAMED, SUSPECT):
        section = soup.select_one(f"#suspect-{label}")
        rows = {tr.th.get_text(strip=True): tr.td.get_text(" ", strip=True) for tr in section.select("table.kv tr")}
        assert "Relative closeness" in rows["Replicate test"] and RESAMPLE in rows["Replicate test"]
        assert rows["Combined test"].startswith("not defined with 1 independent model: fewer than two")
        assert section.select_one('img[alt^="Replicate test"]')["src"].startswith("data:image/svg+xml;base64,")
        assert f"Replicate test for {label}" in soup.select_one("#limits").get_text()
    command = soup.select_one("#rebuild .command").get_text()
    assert f"--replicate {RESAMPLE}" in command and "--panel panel-a" in command
    with pytest.raises(ReportError, match="unknown replicate label 'nobody'"):
        build_report(evidence, REFERENCE, [SUSPECT], replicates=["nobody"], out=tmp_path / "x.html")
    with pytest.raises(ReportError, match="cannot also be a suspect or panel model"):
        build_report(evidence, REFERENCE, [SUSPECT], panel=[RESAMPLE], replicates=[RESAMPLE], out=tmp_path / "x.html")


ANSWER_KINDS = ("teacher named", "vendor named, snapshot uncertain", "inconclusive", "no evidence")


def test_attribution_among_candidates_gives_one_answer_everywhere(case, tmp_path):
    from forensics.report import build_report, read_digest

    folder, _ = case
    out = build_report(
        [folder / "evidence"],
        REFERENCE,
        [SUSPECT],
        out=tmp_path / "r.html",
        rng_seed=7,
        candidates=[REFERENCE, "panel-a"],
        digest_out=tmp_path / "digest.json",
    )
    (attribution,) = read_digest(tmp_path / "digest.json")["attributions"]
    answer = attribution["answer"]
    assert attribution["kind"] in ANSWER_KINDS and answer.startswith(attribution["kind"].split(",")[0])
    soup = soup_of(out.read_bytes())
    # the banner, in the summary and in the suspect's section, and the attribution heading: the same words
    banners = soup.select(".verdict")
    assert len(banners) == 2
    for banner in banners:
        assert banner.select_one(".label").get_text(" ", strip=True) == answer
        text = banner.get_text(" ", strip=True)
        assert not any(label in text for label in VERDICT_LABELS), "a pair label beside the one answer"
        detail = banner.select_one(".detail").get_text(" ", strip=True)
        assert detail.startswith(f"Detail: test against {REFERENCE} alone, before correcting for the other candidates")
    assert " ".join(soup.select_one("#attribution h3").get_text().split()) == f"{SUSPECT}: {answer}"
    # the top candidate's test corrected for its selection, and the ranking by score
    selection = " ".join(soup.select_one("#attribution p.selection").get_text().split())
    assert attribution["selection"]["candidate"] == attribution["top"]
    assert f"as the top of {attribution['selection']['n_candidates']} candidates" in selection
    assert f"p = {fmt_p(attribution['selection']['p_value'], precise=True)}" in selection
    rows = [
        [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in soup.select("#attribution table.ranking tbody tr")
    ]
    assert [r[1] for r in rows] == [c["candidate"] for c in attribution["ranking"]]
    assert rows[0][1] == REFERENCE  # the suspect copies the reference's wording
    scores = [float(r[3]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    # the detail under the answer is the same pair test as the ranking's row for the reference
    ref_p = next(r[6] for r in rows if r[1] == REFERENCE)
    assert all(f"p = {ref_p}," in b.select_one(".detail").get_text(" ", strip=True) for b in banners)
    named = {r[1]: r[7] for r in rows}  # rank, candidate, vendor, lean, score, effect, p, named
    if attribution["kind"] == "teacher named":
        assert named[attribution["teacher"]] == "teacher"
    elif attribution["kind"] not in ANSWER_KINDS[:2]:
        assert set(named.values()) == {"no"}
    assert soup.select("#attribution img") and soup.select_one("#heatmap img")
    assert f"--candidate {REFERENCE} --candidate panel-a" in soup.select_one("#rebuild .command").get_text()


def test_other_vendors_references_anchor_the_contrast_and_the_rest_calibrate_it(case, tmp_path):
    from forensics.report import investigate, render_digest

    folder, _ = case
    result = investigate(
        [folder / "evidence"],
        reference=REFERENCE,
        suspects=[SUSPECT],
        families={REFERENCE: "testlab-ref", "panel-a": "alphaco-a"},
        seed=7,
    )
    (v,) = result.verdicts
    assert v.anchors == ["panel-a"] and sorted(v.units) == sorted(["panel-b", HOSTILE_LABEL])
    soup = soup_of(render_digest(result.digest, tmp_path / "r.html").read_bytes())
    rows = {
        tr.th.get_text(strip=True): tr.td.get_text(" ", strip=True)
        for tr in soup.select(f"#suspect-{SUSPECT} table.kv tr")
    }
    assert rows["Contrasted with (anchors)"].startswith("panel-a")
    assert (
        "panel-b" in rows["Independent models (null units)"]
        and "panel-a" not in rows["Independent models (null units)"]
    )
    combined = rows["Combined test"]
    t, num = v.test, partial(fmt_num, digits=3, significant=True)
    assert t.defined and t.n_units == 2 and t.df >= 1
    assert f"Student t with {num(t.df)} degrees of freedom" in combined and f"prior of {num(t.prior_df)}" in combined
    assert f"width factor κ = {num(t.kappa)}" in combined and f"p = {fmt_p(t.p_value, precise=True)}" in combined
    # where the learned parameters come from is stated, honestly, from the parameters the run used
    from forensics.verdict import shipped_params

    params, methods = shipped_params(), " ".join(soup.select_one("#methods").get_text().split())
    assert result.digest["engine"] == params.to_dict()
    fitted = "were fitted on" in methods
    assert fitted == bool(params.fitted_on) and (fitted or "were not fitted" in methods)
    assert f"κ = {num(params.kappa)}." in methods


def test_render_from_computed_verdicts_matches_build(case, built, tmp_path):
    """The notebook path: verdicts computed once, rendered without recomputing."""
    import numpy as np

    from forensics import verdict as engine
    from forensics.corpus import load_evidence
    from forensics.report import TIMESTAMP_ATTR, render_report

    folder, _ = case
    out_built, html, _ = built
    corpus = load_evidence([folder / "evidence"])
    v = engine.analyse(corpus, REFERENCE, SUSPECT, list(PANEL), rng=np.random.default_rng(7))
    # Seed, panel and so the rebuild command are read back from the verdict itself.
    out = render_report([v], [folder / "evidence"], out_built)
    strip = lambda b: [x for x in b.decode().splitlines() if TIMESTAMP_ATTR not in x]  # noqa: E731
    assert strip(out.read_bytes()) == strip(html)
    out_built.write_bytes(html)
    # A verdict with a panel that one command cannot express gets a caveat, not a false claim.
    odd = engine.analyse(corpus, REFERENCE, "panel-a", [SUSPECT, "panel-b"], rng=np.random.default_rng(7))
    soup = soup_of(render_report([v, odd], [folder / "evidence"], tmp_path / "nb.html").read_bytes())
    assert "closest command" in soup.select_one("#rebuild").get_text()


def test_tampered_evidence_is_refused_by_name(case, tmp_path):
    from forensics.evidence import EvidenceError
    from forensics.report import build_report

    folder, logs = case
    bad_dir = tmp_path / "evidence"
    bad_dir.mkdir()
    for log in logs:
        (bad_dir / log.name).write_bytes(log.read_bytes())
    victim = bad_dir / logs[1].name
    victim.write_text(victim.read_text(encoding="utf-8").replace("RefBot", "R3fBot", 1), encoding="utf-8")
    with pytest.raises(EvidenceError, match=re.escape(str(victim))):
        build_report([bad_dir], REFERENCE, [SUSPECT], out=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def _cli(argv: list[str]) -> int:
    from forensics.cli.report import add_report_parser

    parser = argparse.ArgumentParser(prog="forensics")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_writes_report_and_reports_user_errors(case, tmp_path, capsys):
    folder, logs = case
    out = tmp_path / "cli.html"
    assert (
        _cli(
            [
                "report",
                str(folder / "evidence"),
                "--reference",
                REFERENCE,
                "--suspect",
                SUSPECT,
                "--seed",
                "7",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.is_file() and b"Summary of verdicts" in out.read_bytes()
    printed = capsys.readouterr().out.splitlines()
    banner = soup_of(out.read_bytes()).select_one("#summary .verdict .label").get_text(strip=True)
    assert printed[0] == f"{SUSPECT}: {banner}"  # the terminal says what the banner says
    assert (
        _cli(
            [
                "report",
                str(folder / "evidence"),
                "--reference",
                "nobody",
                "--suspect",
                SUSPECT,
                "--out",
                str(tmp_path / "x.html"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "unknown reference label 'nobody'" in err and len(err.splitlines()) == 1
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(logs[0].read_bytes() + b'{"torn')
    assert (
        _cli(
            [
                "report",
                str(broken),
                str(logs[1]),
                "--reference",
                REFERENCE,
                "--suspect",
                SUSPECT,
                "--out",
                str(tmp_path / "y.html"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert str(broken) in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "y.html").exists()


def test_invisible_and_direction_characters_are_made_visible():
    from forensics.report import visible

    assert visible("a\u202eb\u200bc\x00d\r\ne") == "a⟨U+202E⟩b⟨U+200B⟩c⟨U+0000⟩d\ne"
    assert visible("tab\tand\nnewline kept") == "tab\tand\nnewline kept"


def test_model_names_are_bidi_isolated_and_their_controls_shown():
    from forensics.report.views import name, names

    assert str(name("evil\u202egnp.exe<b>")) == "<bdi>evil⟨U+202E⟩gnp.exe&lt;b&gt;</bdi>"
    assert str(names(["a", "b\u2066"])) == "<bdi>a</bdi>, <bdi>b⟨U+2066⟩</bdi>"


def test_digest_rerenders_the_same_report_and_carries_case_metadata_and_warnings(case, tmp_path):
    from forensics.cli import main
    from forensics.report import TIMESTAMP_ATTR, build_report, read_digest

    folder, _ = case
    digest_path = tmp_path / "digest.json"
    meta = {"case_id": "CASE-7", "investigator": "A. Investigator", "purpose": "test\u202e purpose"}
    out = build_report(
        [folder / "evidence"],
        REFERENCE,
        [SUSPECT, "panel-a"],
        out=tmp_path / "r.html",
        rng_seed=7,
        meta=meta,
        digest_out=digest_path,
    )
    digest = read_digest(digest_path)
    assert [v["suspect"] for v in digest["verdicts"]] == [SUSPECT, "panel-a"]
    assert any("each other's controls" in w for w in digest["warnings"])
    assert [s["log"] for s in digest["seals"]] and all(len(s["head"]) == 64 for s in digest["seals"])
    soup = soup_of(out.read_bytes())
    header = soup.select_one("header").get_text(" ", strip=True)
    assert "CASE-7" in header and "A. Investigator" in header and "⟨U+202E⟩" in header
    assert "each other's controls" in soup.select_one("#summary").get_text(" ", strip=True)
    seals = soup.select("#summary table.seals tbody tr")
    assert len(seals) == len(digest["seals"]) and digest["seals"][0]["head"] in seals[0].get_text()
    command = soup.select_one("#rebuild .command").get_text()
    assert str(folder) not in command and "--case-id" not in command  # paths relative to the case folder
    again = tmp_path / "again.html"
    assert main(["report", "--from-digest", str(digest_path), "--out", str(again)]) == 0
    # the same page, but its first screen says where the numbers come from: a signed digest, not the evidence
    strip = lambda b: [x for x in b.decode().splitlines() if TIMESTAMP_ATTR not in x and "subtitle" not in x]  # noqa: E731
    assert strip(again.read_bytes()) == strip(out.read_bytes())
    subtitle = soup_of(again.read_bytes()).select_one(".subtitle").get_text(" ", strip=True)
    digest_sha = hashlib.sha256(digest_path.read_bytes()).hexdigest()
    assert f"Rendered from digest {digest_sha} , signed by ed25519:" in subtitle
    assert "rebuilt from the verified evidence logs" not in subtitle
    digest_path.write_text("{}", encoding="utf-8")
    assert main(["report", "--from-digest", str(digest_path), "--out", str(tmp_path / "x.html")]) == 2


def test_plots_are_deterministic_svg():
    import numpy as np

    from forensics.report import plots

    finding = {
        "signal": "x $y$",
        "statistic": 0.4,
        "p_value": 0.01,
        "n_resamples": 200,
        "null_distribution": np.random.default_rng(0).normal(0, 0.1, 200),
        "panel_values": {"b": 0.1, "a": 0.0},
    }
    one = plots.svg_bytes(plots.signal_plot(finding))
    two = plots.svg_bytes(plots.signal_plot(dict(finding)))
    assert one == two and one.startswith(b"<svg") and b"<script" not in one
    forest = plots.svg_bytes(plots.effect_sizes_plot([{**finding, "effect_size": 1.2, "ci": (0.5, 1.9)}]))
    assert forest.startswith(b"<svg")

"""The ``forensics`` command line.

Exit codes: 0 success, 1 the check or run found a problem (a broken evidence chain, failed
requests), 2 bad input or usage. User errors print one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from pathlib import Path

from forensics.cli.bench import add_bench_parser
from forensics.cli.probes import cmd_probes
from forensics.cli.report import add_report_parser
from forensics.cli.traffic import add_traffic_parser
from forensics.evidence import (
    CorpusFormatError,
    EvidenceError,
    PathError,
    RedactingStream,
    check_input_file,
    check_manifest,
    check_output_target,
    collect,
    export_manifest,
    file_sha256,
    fingerprint,
    forensics_home,
    import_alpaca_eval,
    import_benchmark,
    import_hf_dataset,
    is_evidence_log,
    iter_logs,
    quarantine,
    repair,
    signing_key,
    trusted_fingerprints,
    verify,
    visible,
)
from forensics.probes import ProbeSetError, load_probe_sets, select_probes
from forensics.providers import PROVIDERS, Decoding

EXIT_OK, EXIT_FOUND_PROBLEM, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 70


def _number(kind, minimum, inclusive=True):
    """An argparse type that refuses values below ``minimum`` (or at it, when not inclusive)."""

    def parse(text: str):
        value = kind(text)
        if value < minimum or (not inclusive and value == minimum):
            raise argparse.ArgumentTypeError(f"{text}: must be {'at least' if inclusive else 'above'} {minimum}")
        return value

    return parse


positive_int, positive_float, nonnegative_float = _number(int, 1), _number(float, 0, False), _number(float, 0)
# STARTUP: the report, bench and demo commands import their stages (matplotlib, jinja2, pandas,
# scikit-learn, papermill) when they run, not when the parser is built: `forensics --help`,
# `verify` and `probes` then start in about 2.5 s instead of about 6 s (wall time of `forensics --help`).


def _collect(args) -> int:
    sets = select_probes(load_probe_sets(args.probes or None), args.family, args.limit)
    if not sets:
        raise ValueError("no probes selected")
    system = args.system_prompt
    if args.system_prompt_file:
        data = check_input_file(args.system_prompt_file, "system prompt file", max_bytes=1 << 20).read_bytes()
        try:
            system = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PathError(f"{args.system_prompt_file}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    decoding = Decoding(
        temperature=args.temperature,
        top_p=args.top_p,
        max_tokens=args.max_tokens,
        seed=None if args.seed < 0 else args.seed,
        system_prompt=system,
        samples=args.samples,
    )
    weights = file_sha256(check_input_file(args.weights, "weights file")) if args.weights else None
    summary = collect(
        args.model,
        sets,
        args.out,
        decoding,
        label=args.label,
        concurrency=args.concurrency,
        rate_limit=args.rate_limit,
        max_attempts=args.max_attempts,
        timeout=args.timeout,
        backoff=args.backoff,
        progress=not args.no_progress,
        command=sys.argv,
        key_env=args.api_key_env,
        weights_sha256=weights,
        max_reply_chars=args.max_reply_chars,
        accept_key_change=args.accept_key_change,
    )
    print(
        f"{summary.log}: {summary.succeeded} new responses, {summary.already_done} already recorded, "
        f"{summary.empty} empty after retries, "
        f"{summary.failed} failed after retries ({summary.error_records} error records), "
        f"{summary.wall_s:.1f}s, {summary.requests_per_s:.2f} req/s, head {summary.head}"
    )
    for line in summary.failures[:20]:
        print(f"  failed: {line}", file=sys.stderr)
    return EXIT_FOUND_PROBLEM if summary.failed else EXIT_OK


def _import(args) -> int:
    if args.format == "benchmark":
        n = import_benchmark(args.source, args.out, accept_key_change=args.accept_key_change)
    elif args.format == "alpaca-eval":
        n = import_alpaca_eval(args.source, args.out, model=args.model, accept_key_change=args.accept_key_change)
    else:
        n = import_hf_dataset(
            args.source,
            args.out,
            model=args.model,
            model_column=args.model_column,
            prompt_column=args.prompt_column,
            response_column=args.response_column,
            id_column=args.id_column,
            split=args.split,
            accept_key_change=args.accept_key_change,
        )
    print(f"{args.out}: imported {n} responses from {args.source}")
    return EXIT_OK


def _verify(args) -> int:
    status = EXIT_OK
    logs = list(iter_logs(args.logs))
    if not logs:
        raise PathError(f"no evidence logs found in {' '.join(args.logs)}")
    trust = trusted_fingerprints(args.trust) if args.trust else None
    for path in logs:
        if path.stat().st_size and not is_evidence_log(path):
            raise PathError(f"{path}: not an evidence log (its first line is no evidence record)")
    heads_seen: set[str] = set()
    for path in logs:
        if args.quarantine:
            side, moved = quarantine(path)
            print(
                f"{path}: {moved} records not written by this key moved to {side} (never trusted)"
                if side
                else f"{path}: nothing to quarantine (every unsealed record was written by this key)"
            )
        result = verify(
            path, trust, allow_unsealed=args.allow_unsealed, keep_records=False, expect_heads=args.expect_head or ()
        )
        if result.torn_tail and args.repair:
            side = repair(path)
            print(f"{path}: torn last line set aside in {side} (not trusted)")
            result = verify(
                path, trust, allow_unsealed=args.allow_unsealed, keep_records=False, expect_heads=args.expect_head or ()
            )
        print(visible(result.describe()))
        heads_seen |= result.heads_found
        if not result.ok:
            status = EXIT_FOUND_PROBLEM
    for head in args.expect_head or ():
        if head not in heads_seen:
            print(f"FAIL expected head {head}: in none of these logs (truncated below it, or a different log)")
            status = EXIT_FOUND_PROBLEM
    return status


def _key(args) -> int:
    key = signing_key()
    print(f"{fingerprint(key.public_key())}  (public key: {forensics_home() / 'signing-key.pub.pem'})")
    return EXIT_OK


def _case(args) -> int:
    if args.action == "check":
        trust = trusted_fingerprints(args.trust) if args.trust else None
        status = EXIT_OK
        for manifest in args.paths:
            checked = check_manifest(manifest, trust)
            vouch = "trusted key" if checked.trusted else ("NOT a trusted key" if trust else "not checked: no --trust")
            print(f"{manifest}: signed by {checked.signer} ({vouch})")
            for log in checked.logs:
                print(
                    f"  {log['path']}: {log['records']} records, head {log['head']}, {log['seal_status']} "
                    f"({', '.join(log['key_fingerprints']) or 'no key'})"
                )
            for line in checked.problems:
                print(f"FAIL {line}")
            if checked.problems:
                status = EXIT_FOUND_PROBLEM
            else:
                print(f"OK {manifest}: the signature holds and every listed log is unchanged")
        return status
    if args.trust:
        raise PathError("case export signs with your own key: --trust belongs to case check")
    if not args.out:
        raise PathError("case export needs --out MANIFEST")
    manifest = export_manifest(args.paths, args.out)
    digest = hashlib.sha256(Path(args.out).read_bytes()).hexdigest()
    print(f"{args.out}: signed manifest of {len(manifest['manifest']['logs'])} logs, sha256 {digest}")
    return EXIT_OK


def _demo(args) -> int:
    from forensics.notebook import alpaca_case, load_case  # see STARTUP
    from forensics.report import read_digest

    case_dir = Path(args.case_dir).absolute() if args.case_dir else None  # relative to where the command runs
    if case_dir is not None and not (case_dir / "case.json").is_file():
        raise PathError(f"{args.case_dir}: no case.json there, so it is not a case folder")
    check_output_target(Path(args.out) / "report.html", suffixes=(".html",))  # before any work
    directory = case_dir or alpaca_case.ALPACA_CASE_DIR
    case = load_case(directory)
    keys = case.sealed_by
    if not keys:
        raise EvidenceError(
            f"{directory / 'CASE.md'}: publishes no sealing key ('sealed-by: ed25519:<sha256>'); refusing to "
            "investigate evidence that no published key vouches for"
        )
    for log in case.logs:
        result = verify(log, keys, keep_records=False)
        if not result.ok:
            raise EvidenceError(
                f"the case does not verify with --trust {' '.join(keys)} (published in CASE.md): {result.describe()}"
            )
    print(f"verified {len(case.logs)} logs with --trust {' '.join(keys)} (the key CASE.md publishes)")
    started = time.monotonic()
    notebook = alpaca_case.run_demo(args.out, case_dir=case_dir, seed=args.seed)
    elapsed = time.monotonic() - started
    digest = read_digest(notebook.parent / "digest.json")
    print(alpaca_case.format_table(alpaca_case.demo_rows(digest, case)))
    print(f"\ndemo time: {elapsed:.0f}s (verify, analyse, notebook, report; install time is printed by make)")
    print(f"evidence report:   {notebook.parent / 'report.html'}")
    print(f"executed notebook: {notebook}")
    return EXIT_OK


def _probes(args) -> int:
    return cmd_probes(args.action, args.paths)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forensics",
        description=__doc__.split("\n")[0] + " Was this suspect "
        "model distilled from that reference? Probe, record evidence, test, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser(
        "collect",
        help="send probes to a model and record every exchange as evidence",
        description="Send probes to one model and append every exchange to a hash-chained "
        "evidence log. Rerunning resumes: only missing or failed probes are sent.",
    )
    c.add_argument(
        "--model",
        required=True,
        help="model spec, e.g. openai:gpt-4o, anthropic:claude-sonnet-4-5, "
        "openai-compatible:NAME@http://127.0.0.1:8765/v1. Providers: "
        + "; ".join(f"{k} = {v}" for k, v in PROVIDERS.items()),
    )
    c.add_argument("--label", help="name of this subject in the analysis (default: the model id)")
    c.add_argument("--probes", nargs="*", help="probe-set files or folders (default: the curated sets)")
    c.add_argument("--family", nargs="*", help="only these probe families")
    c.add_argument("--limit", type=positive_int, help="at most N probes per family")
    c.add_argument("--out", required=True, help="evidence log (JSONL) to append to")
    c.add_argument("--samples", type=positive_int, default=1, help="samples per probe (one request each)")
    c.add_argument("--temperature", type=float, default=0.0)
    c.add_argument("--top-p", type=float, default=1.0)
    c.add_argument("--max-tokens", type=positive_int, default=256)
    c.add_argument("--seed", type=int, default=0, help="base seed; sample i uses seed+i; negative for none")
    c.add_argument("--system-prompt", help="system prompt sent with every probe")
    c.add_argument("--system-prompt-file", help="read the system prompt from this file")
    c.add_argument("--concurrency", type=positive_int, default=1, help="requests in flight at once")
    c.add_argument("--rate-limit", type=positive_float, help="at most this many requests started per second")
    c.add_argument("--max-attempts", type=positive_int, default=4, help="attempts per request before an error is final")
    c.add_argument(
        "--timeout",
        type=positive_float,
        default=120.0,
        help="deadline in seconds for each whole request (sending, waiting and reading the reply)",
    )
    c.add_argument(
        "--backoff", type=nonnegative_float, default=1.0, help="first retry delay in seconds (grows exponentially)"
    )
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.add_argument("--api-key-env", help="environment variable holding the API key (default: the provider's usual one)")
    c.add_argument("--weights", help="weights file of a model you serve yourself: its SHA-256 joins the identity")
    c.add_argument(
        "--accept-key-change",
        action="store_true",
        help="continue a log last sealed by another key (the seals then name both keys; verify says so)",
    )
    c.add_argument(
        "--max-reply-chars",
        type=positive_int,
        default=1_000_000,
        help="longest reply text kept; longer replies are cut and their size and hash recorded",
    )
    c.set_defaults(func=_collect)

    i = sub.add_parser(
        "import",
        help="import responses that others recorded",
        description="Import recorded responses into an evidence log, marked as imported.",
    )
    i.add_argument(
        "format",
        choices=["benchmark", "alpaca-eval", "hf"],
        help="benchmark: the shared benchmark JSONL layout; alpaca-eval: model_outputs.json; "
        "hf: a Hugging Face datasets table (save_to_disk folder, json/csv/parquet file)",
    )
    i.add_argument("source", help="folder or file to import")
    i.add_argument("--out", required=True, help="evidence log to write")
    i.add_argument(
        "--model", help="model name (alpaca-eval: overrides 'generator'; hf: required unless --model-column)"
    )
    i.add_argument("--model-column")
    i.add_argument("--prompt-column", default="prompt")
    i.add_argument("--response-column", default="response")
    i.add_argument("--id-column")
    i.add_argument("--split", default="train")
    i.add_argument(
        "--accept-key-change",
        action="store_true",
        help="append to a log last sealed by another key (the seals then name both keys; verify says so)",
    )
    i.set_defaults(func=_import)

    v = sub.add_parser(
        "verify",
        help="re-walk evidence hash chains and name the first bad record",
        description="Exit 0 when every chain checks out, 1 when one does not.",
    )
    v.add_argument("logs", nargs="+", help="evidence logs or folders of them")
    v.add_argument(
        "--repair", action="store_true", help="set a torn (half-written) last line aside (under the writer's lock)"
    )
    v.add_argument(
        "--allow-unsealed",
        action="store_true",
        help="accept records after the last seal (a run killed before its seal); they are still named",
    )
    v.add_argument(
        "--quarantine",
        action="store_true",
        help="move unsealed records this key did not write into <log>.quarantine-<time>, which nothing trusts "
        "(under the writer's lock), then verify",
    )
    v.add_argument(
        "--trust",
        action="append",
        help="key file (PEM) or ed25519:<sha256> fingerprint whose seals are trusted (repeatable); every "
        "record must then be sealed by one of them",
    )
    v.add_argument(
        "--expect-head",
        action="append",
        help="a head recorded out of band (repeatable): a log cut below it fails",
    )
    v.set_defaults(func=_verify)

    k = sub.add_parser("key", help="the investigator's signing key (made on first use under $FORENSICS_HOME)")
    k.add_argument("action", choices=["show"], help="show: print the key's fingerprint")
    k.set_defaults(func=_key)

    cs = sub.add_parser("case", help="case-level evidence operations")
    cs.add_argument(
        "action",
        choices=["export", "check"],
        help="export: write a signed manifest of heads and file hashes; check: verify manifests against the logs",
    )
    cs.add_argument("paths", nargs="+", help="export: evidence logs or folders of them; check: manifest files")
    cs.add_argument("--out", help="manifest file (JSON) to write (export)")
    cs.add_argument(
        "--trust",
        action="append",
        help="check: key file (PEM) or ed25519:<sha256> fingerprint (repeatable) that must have signed the "
        "manifest and sealed every listed log",
    )
    cs.set_defaults(func=_case)

    p = sub.add_parser("probes", help="list, count or validate probe sets")
    p.add_argument("action", choices=["list", "stats", "validate"])
    p.add_argument("paths", nargs="*", help="probe-set files or folders (default: the curated sets)")
    p.set_defaults(func=_probes)

    d = sub.add_parser(
        "demo",
        help="the embedded real case (public AlpacaEval outputs), investigated from its committed evidence",
        description="Verify the sealed evidence of the embedded real case, attribute each suspect among six "
        "references, execute the quickstart notebook and write the report; ends with a table of the "
        "verdicts beside the documented lineage. `make demo-live` runs the local-model case instead.",
    )
    d.add_argument("--out", default="out/demo", help="output folder")
    d.add_argument(
        "--case-dir",
        type=lambda path: Path(path).absolute(),  # relative to the current folder, as any path on a command line
        help="evidence folder of the case, relative to the current folder (default: the one shipped in the package)",
    )
    d.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    d.set_defaults(func=_demo)

    add_bench_parser(sub)
    add_report_parser(sub)
    add_traffic_parser(sub)
    return parser


def _one_line(exc: Exception) -> str:
    """An error as one visible line: paths and labels given by the user pass the one label filter too."""
    return visible(" ".join(str(exc).split("\n")))


def main(argv: list[str] | None = None) -> int:
    """Run one command with stdout and stderr redacted: no key a provider used is ever shown."""
    parser = build_parser()
    args = parser.parse_args(argv)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    try:
        return args.func(args)
    except (ProbeSetError, CorpusFormatError, EvidenceError, ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"forensics {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a path the checks above did not foresee: still one line naming it
        where = exc.filename or "(unnamed path)"
        print(f"forensics {args.command}: error: {visible(where)}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # output piped into `head` and the like: nothing left to say
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted; the evidence recorded so far is kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a bug: show its traceback, redacted like every other output
        traceback.print_exc(file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        sys.stdout, sys.stderr = saved

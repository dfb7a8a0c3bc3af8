"""``forensics report``: the command line of :func:`forensics.report.build_report`."""

from __future__ import annotations

import argparse
import sys

from forensics.evidence import EvidenceError, PathError, trusted_fingerprints, visible


def add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    """``forensics report EVIDENCE... --reference R --suspect S [--suspect ...] --out report.html``."""
    r = subparsers.add_parser(
        "report",
        help="verify evidence, analyse suspects, write a self-contained HTML evidence report",
        description="Verify every evidence log (a failing log is refused), analyse each suspect against the "
        "reference with a fixed seed, and write one self-contained HTML file (no scripts, no network "
        "loads) with verdicts, findings, plots, side-by-side responses and provenance. The same "
        "command on the same evidence rebuilds the same report.",
    )
    r.add_argument("evidence", nargs="*", help="evidence logs (JSONL) or folders of them")
    r.add_argument(
        "--from-digest",
        metavar="DIGEST.json",
        help="re-render a report from a digest written with --digest-out, without evidence or analysis",
    )
    r.add_argument("--digest-out", metavar="DIGEST.json", help="also write the digest the report is rendered from")
    r.add_argument(
        "--reference", help="label of the reference model R (without it: the top-ranked --candidate, per suspect)"
    )
    r.add_argument("--suspect", action="append", help="label of a suspect (repeatable)")
    r.add_argument(
        "--panel",
        action="append",
        help="label of a control-panel model (repeatable; default: every other label in the evidence)",
    )
    r.add_argument(
        "--candidate", action="append", help="also rank the suspect among these candidate references (repeatable)"
    )
    r.add_argument(
        "--replicate",
        action="append",
        help="label of the reference sampled again, for the replicate "
        "(same-model) test; never a panel model (repeatable)",
    )
    r.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    r.add_argument("--title", help="report title")
    r.add_argument("--case-id", help="case identifier shown at the top of the report")
    r.add_argument("--investigator", help="who ran the investigation, shown at the top of the report")
    r.add_argument("--purpose", help="why the investigation was run, shown at the top of the report")
    r.add_argument(
        "--allow-mixed",
        action="store_true",
        help="let one label cover several subjects (model id, endpoint, decoding); the report says so",
    )
    r.add_argument(
        "--trust",
        action="append",
        help="key file (PEM) or ed25519:<sha256> fingerprint (repeatable): every log must be sealed by one of "
        "them; with --from-digest, the digest must be signed by one of them",
    )
    r.add_argument("--out", default="report.html", help="HTML file to write (default report.html)")
    r.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Exit 0 with the report written; 2 with one line on stderr for a user error. Outputs are checked
    before any analysis; what the analysis dropped or ignored is printed as notes."""
    from forensics.report import (  # see STARTUP in cli/main.py
        ReportError,
        check_report_targets,
        investigate,
        read_digest,
        render_digest,
        write_digest,
    )

    meta = {k: v for k in ("case_id", "investigator", "purpose", "title") if (v := getattr(args, k))}
    try:
        trust = sorted(trusted_fingerprints(args.trust)) if args.trust else None
        check_report_targets(args.out, args.digest_out)
        if args.from_digest:
            if args.evidence or args.suspect or args.reference:
                raise ReportError("--from-digest re-renders the digest alone: give no evidence, suspect or reference")
            if args.digest_out:
                raise ReportError("--from-digest writes no digest: drop --digest-out")
            digest = read_digest(args.from_digest, trust)
            digest["meta"] = {**digest.get("meta", {}), **meta}
            origin = digest["origin"]
            signer = f"signed by {origin['signer']}" if origin["signer"] else f"UNSIGNED ({origin['problem']})"
            print(f"note: rendered from digest {origin['sha256']}, {signer}", file=sys.stderr)
            out = render_digest(digest, args.out)
        else:
            if not args.evidence or not args.suspect:
                raise ReportError("give evidence logs and at least one --suspect (or --from-digest DIGEST.json)")
            result = investigate(
                args.evidence,
                reference=args.reference,
                suspects=args.suspect,
                panel=args.panel,
                seed=args.seed,
                out=args.out,
                candidates=args.candidate,
                replicates=args.replicate,
                meta=meta,
                allow_mixed=args.allow_mixed,
                trust=trust,
            )
            for line in result.digest.get("statements") or ():
                print(f"note: {line}", file=sys.stderr)
            for key in result.digest.get("signers") or ():
                print(f"sealed by {key['key_fingerprint']}: {', '.join(key['logs'])}", file=sys.stderr)
            if args.digest_out:
                write_digest(result.digest, args.digest_out)
            out = render_digest(result.digest, args.out)
            for verdict in result.verdicts:  # the words of the report's banner, one line per suspect
                attribution = result.attribution(verdict.suspect)
                print(visible(f"{verdict.suspect}: {attribution.answer if attribution else verdict.label}"))
    except (ReportError, EvidenceError, PathError) as exc:
        print(f"forensics report: error: {visible(' '.join(str(exc).splitlines()))}", file=sys.stderr)
        return 2
    print(f"{out}: report written ({out.stat().st_size:,} bytes)")
    return 0

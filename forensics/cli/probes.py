"""``forensics probes list|stats|validate [PATH...]``: what the probe sets hold, and whether they load."""

from __future__ import annotations

import sys

from forensics.probes import ProbeSet, ProbeSetError, check_probe_sets, load_probe_sets, probe_set_stats


def _print_list(sets: list[ProbeSet]) -> None:
    for probe in (p for s in sets for p in s.probes):
        prompt = " ".join(probe.prompt.split())[:60]
        print(f"{probe.id:<36} {probe.family:<12} {probe.language:<3} {prompt}")


def _print_stats(sets: list[ProbeSet]) -> None:
    stats = probe_set_stats(sets)
    languages = list(stats["by_language"])
    print(f"{'family':<13}" + "".join(f"{lang:>5}" for lang in languages) + f"{'total':>7}")
    for family, by_lang in stats["by_family_language"].items():
        cells = "".join(f"{by_lang.get(lang, 0) or '.':>5}" for lang in languages)
        print(f"{family:<13}{cells}{stats['by_family'][family]:>7}")
    print(f"{'total':<13}" + "".join(f"{n:>5}" for n in stats["by_language"].values()) + f"{stats['total']:>7}")
    print(f"answerable: {stats['answerable']} of {stats['total']}")
    for s in stats["sets"]:
        print(f"set {s['name']:<14} {s['probes']:>4} probes  version {s['version']}  {s['path']}")


def _validate(paths: list[str]) -> int:
    status = 0
    for path, result in check_probe_sets(paths):
        if isinstance(result, ProbeSetError):
            print(result, file=sys.stderr)
            status = 2
            continue
        print(f"OK {path} {len(result.probes)} probes version {result.version}")
    return status


def cmd_probes(action: str, paths: list[str]) -> int:
    """``forensics probes list|stats|validate [PATH...]``; user errors print one line and return 2."""
    try:
        if action == "validate":
            return _validate(paths)
        if action not in ("list", "stats"):
            print(f"error: unknown probes action {action!r} (expected list, stats or validate)", file=sys.stderr)
            return 2
        sets = load_probe_sets(paths)
    except ProbeSetError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (_print_list if action == "list" else _print_stats)(sets)
    return 0

"""The HTML campaign report: the answer first (campaigns, accounts, exchanges), then how the accounts link,
volume over time, example prompts, the calibration and what the evidence cannot show."""

from __future__ import annotations

import base64
import io
import shlex
from collections import defaultdict
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from forensics.traffic.evidence import LIMITS, iso, supporting_requests
from forensics.traffic.output import write_guarded
from forensics.traffic.scan import Campaign, ScanResult
from forensics.traffic.scoring import INDICATORS

MAX_ACCOUNT_ROWS = 40
EXAMPLES = 6


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def volume_figure(result: ScanResult):
    """Requests per day of each campaign (its accounts' whole traffic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = result.tables.days
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for c in result.campaigns[:10]:
        d = days[days["account_id"].isin(set(c.accounts))].groupby("day")["c"].sum()
        ax.plot(pd.to_datetime(d.index.to_numpy() * 86_400_000, unit="ms"), d.to_numpy(), marker=".", label=c.id)
    ax.set_ylabel("requests per day")
    ax.legend(loc="upper left", fontsize=8, ncol=5)
    fig.autofmt_xdate()
    return fig


def link_figure(result: ScanResult, campaign: Campaign):
    """Accounts on a circle; a line for every link inside the campaign, coloured by kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = list(campaign.accounts)
    if len(members) < 2:
        return None
    pos = {a: (np.cos(t), np.sin(t)) for a, t in zip(members, np.linspace(0, 2 * np.pi, len(members), endpoint=False))}
    inside = set(members)
    lines: dict[str, list] = defaultdict(list)
    for group in result.graph.groups.values():
        g = [m for m in group if m in inside]
        for m in g[1:]:
            lines["shared infrastructure + client"].append((g[0], m))
    for (a, b), kinds in result.graph.edges.items():
        if a in inside and b in inside:
            for k in kinds:
                lines[k.replace("_", " ")].append((a, b))
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    for (kind, pairs), colour in zip(sorted(lines.items()), ("#1f5fa8", "#9a4d00", "#245c2a", "#8e1b1b")):
        for i, (a, b) in enumerate(pairs[:3000]):
            ax.plot(*zip(pos[a], pos[b]), color=colour, lw=0.4, alpha=0.5, label=kind if i == 0 else None)
    xy = np.array(list(pos.values()))
    ax.scatter(xy[:, 0], xy[:, 1], s=12, color="#1d2430", zorder=3)
    ax.set_axis_off()
    ax.set_aspect("equal")
    if lines:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.18), fontsize=7, frameon=False)
    return fig


def render_report(result: ScanResult, logs: list[Path], command: list[str] | None = None) -> str:
    from forensics import __version__

    acc = result.accounts
    campaigns = []
    for c, log in zip(result.campaigns, logs):
        rows = acc.loc[list(c.accounts)].sort_values("n", ascending=False)
        support = supporting_requests(result, c)
        examples = support.drop_duplicates("account_id").head(EXAMPLES)
        tokens = result.tables.tokens["client_net"]
        nets = tokens[tokens["account_id"].isin(set(rows.index[:MAX_ACCOUNT_ROWS]))].groupby("account_id")["client_net"]
        nets = nets.apply(lambda s: ", ".join(map(str, list(s)[:3])))
        fig = link_figure(result, c)
        campaigns.append(
            {
                "id": c.id,
                "n_accounts": len(c.accounts),
                "requests": c.requests,
                "harvest": c.harvest_requests,
                "score": f"{c.score:.2f}",
                "tests": ", ".join(f"{k} {v:.2f}" for k, v in c.tests.items()),
                "first": iso(c.first_ms)[:10],
                "last": iso(c.last_ms)[:10],
                "fired": [k.replace("_", " ") for k in c.fired],
                "links": ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(c.links.items())) or "—",
                "log": Path(log).name,
                "graph_png": _png(fig) if fig is not None else None,
                "indicators": [(k, f"{c.indicators[k]:.2f}", INDICATORS[k][0]) for k in INDICATORS],
                "accounts": [
                    {
                        "account_id": a,
                        "requests": int(r["n"]),
                        "harvest": int(r["harvest"]),
                        "z": f"{r['account_z']:.2f}",
                        "nets": nets.get(a, ""),
                        "ua": r["top_ua"],
                        "sig": r["top_sig"],
                    }
                    for a, r in rows.head(MAX_ACCOUNT_ROWS).iterrows()
                ],
                "more_accounts": max(0, len(rows) - MAX_ACCOUNT_ROWS),
                "examples": [
                    {
                        "account": e.account_id,
                        "time": iso(int(e.ts_ms)),
                        "prompt": e.prompt[:1500],
                        "source": f"{Path(result.files[int(e.file)]).name} row {int(e.row)}",
                    }
                    for e in examples.itertuples()
                ],
            }
        )
    env = jinja2.Environment(loader=jinja2.PackageLoader("forensics.traffic", "templates"), autoescape=True)
    return env.get_template("campaigns.html.j2").render(
        tool_version=__version__,
        log_name=Path(result.log).name,
        rows=result.tables.n_rows,
        n_accounts=len(acc),
        n_files=len(result.files),
        built=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        campaigns=campaigns,
        flagged=len(result.flagged),
        harvest=sum(c.harvest_requests for c in result.campaigns),
        requests=sum(c.requests for c in result.campaigns),
        fpr=f"{result.calibration.fpr:g}",
        calibration=result.calibration.describe(),
        volume_png=_png(volume_figure(result)) if result.campaigns else None,
        bad_total=result.tables.bad.total,
        bad_examples=result.tables.bad.examples,
        limits=LIMITS,
        command=shlex.join(command or []),
    )


def write_report(result: ScanResult, path: Path | str, logs: list[Path], command: list[str] | None = None) -> Path:
    return write_guarded(path, "html", render_report(result, logs, command))

"""Pictures of the benchmarks, drawn from their own JSON at every documentation build.

``make bench`` writes ``bench/results/*.json``; the runs the pages describe are copied to
``docs/_data/`` (``python docs/_ext/plots.py --take`` copies the latest ones), and this
extension draws them into ``docs/_plots/`` (not kept in git) before Sphinx reads the pages:
the outage soak phase by phase, lost writes with parallel tabs, and cold starts.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "_data"
PLOTS = HERE.parent / "_plots"
RESULTS = HERE.parent.parent / "bench" / "results"
BENCHES = ("soak", "tabs", "coldstart", "requests")
OK, FAILED, OTHER = "#2f7d4f", "#b3392b", "#8a94a6"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no screen: files only
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def soak(data: dict[str, Any], plt: Any) -> Any:
    """Per phase of the soak, the share of session requests answered 200, 503 or otherwise."""
    modes = data["results"]
    figure, axes = plt.subplots(len(modes), 1, figsize=(9, 2.6 * len(modes)), squeeze=False)
    for ax, result in zip(axes[:, 0], modes, strict=True):
        phases: dict[str, dict[str, int]] = {}
        for row in result["rows"]:
            if row["page"] == "plain":
                continue  # pages that do not touch the session
            counts = phases.setdefault(row["phase"], {})
            for status, n in row["statuses"].items():
                counts[status] = counts.get(status, 0) + n
        names = list(phases)
        totals = [sum(c.values()) or 1 for c in phases.values()]
        ok = [c.get("200", 0) / t for c, t in zip(phases.values(), totals, strict=True)]
        unavailable = [c.get("503", 0) / t for c, t in zip(phases.values(), totals, strict=True)]
        other = [1 - a - b for a, b in zip(ok, unavailable, strict=True)]
        ax.barh(names, ok, color=OK, label="200")
        ax.barh(names, unavailable, left=ok, color=FAILED, label="503 with Retry-After")
        ax.barh(names, other, left=[a + b for a, b in zip(ok, unavailable, strict=True)], color=OTHER, label="other")
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_title(f"DYNAMODB_SESSIONS_ON_UNAVAILABLE = {result['mode']!r}: session requests by phase", loc="left")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    axes[-1, 0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False)
    return figure


def tabs(data: dict[str, Any], plt: Any) -> Any:
    """Increments acknowledged and stored, 8 tabs on one session, per server and engine."""
    runs = data["runs"]
    labels = [f"{run['server']}\n{run['engine']}" for run in runs]
    acknowledged = [sum(run["acknowledged"].values()) for run in runs]
    stored = [sum(min(n, run["stored"].get(tab, 0)) for tab, n in run["acknowledged"].items()) for run in runs]
    figure, ax = plt.subplots(figsize=(9, 3.2))
    positions = range(len(runs))
    ax.bar([p - 0.2 for p in positions], acknowledged, width=0.4, color=OTHER, label="acknowledged (200)")
    ax.bar([p + 0.2 for p in positions], stored, width=0.4, color=OK, label="stored")
    ax.set_xticks(list(positions), labels)
    ax.set_ylabel("increments")
    ax.set_title("Parallel tabs on one session: what was acknowledged, what was stored", loc="left")
    ax.set_ylim(0, 1.3 * max(acknowledged))
    ax.legend(loc="upper left", ncol=2, frameon=False)
    return figure


def coldstart(data: dict[str, Any], plt: Any) -> Any:
    """CPU of init + first request, every sample, per variant, under WSGI and ASGI."""
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, server in zip(axes, ("wsgi", "asgi"), strict=True):
        variants = [name for name in data["samples"] if name.startswith(server + "/")]
        values = [[1000 * sample["first_cpu"] for sample in data["samples"][name]] for name in variants]
        ax.boxplot(values, tick_labels=[name.split("/", 1)[1] for name in variants])
        ax.set_title(f"{server.upper()}: init + first request, CPU ms", loc="left")
        ax.tick_params(axis="x", rotation=30)
    return figure


def requests(data: dict[str, Any], plt: Any) -> Any:
    """CPU per request against the raw-botocore reference, by request kind and payload."""
    rows = [row for row in data["rows"] if row["engine"] != "reference"]
    kinds = list(dict.fromkeys(f"{row['scenario']}\n{row['payload']}" for row in rows))
    labels = [kind.replace(" ", "\n", 1) if len(kind.split("\n")[0]) > 10 else kind for kind in kinds]
    figure, ax = plt.subplots(figsize=(9, 3.4))
    for offset, (engine, color) in zip((-0.2, 0.2), (("pynamo", OK), ("cached", OTHER)), strict=True):
        ratio = {f"{r['scenario']}\n{r['payload']}": r["cpu_ratio_to_reference"] for r in rows if r["engine"] == engine}
        ax.bar([i + offset for i in range(len(kinds))], [ratio.get(k, 0) for k in kinds], width=0.4, color=color,
               label={"pynamo": "dynamodb engine", "cached": "cached_dynamodb engine"}[engine])
    ax.axhline(1.0, color="#1d2433", linewidth=0.8)
    ax.set_xticks(range(len(kinds)), labels, fontsize=7)
    ax.set_ylim(0, 1.45)
    ax.set_ylabel("CPU / reference")
    ax.set_title("CPU per request against a minimal raw-botocore engine (1.0)", loc="left")
    ax.legend(loc="upper right", ncol=2, frameon=False)
    return figure


DRAW = {"soak": soak, "tabs": tabs, "coldstart": coldstart, "requests": requests}


def draw(*_: Any) -> None:
    plt = _pyplot()
    PLOTS.mkdir(exist_ok=True)
    for name, make in DRAW.items():
        path = DATA / f"{name}.json"
        figure = make(json.loads(path.read_text()), plt)
        figure.tight_layout()
        figure.savefig(PLOTS / f"{name}.png", dpi=110)
        plt.close(figure)


def take() -> None:
    """Copy the latest results of ``make bench`` / ``make soak`` into docs/_data."""
    for name in BENCHES:
        source = RESULTS / f"{name}.json"
        if source.exists():
            shutil.copyfile(source, DATA / f"{name}.json")
            print(f"took {source}")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", draw)
    return {"parallel_read_safe": True}


if __name__ == "__main__":
    if sys.argv[1:] == ["--take"]:
        take()
    else:
        draw()

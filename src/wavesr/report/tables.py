"""Tables of an evaluation: means over files, as JSON-ready rows, CSV and Markdown.

Every table reports, for each ratio and method, the mean over files of per-file values (the
per-file SNR averaged over files, as Kuleshov et al. report it, not the SNR of all files joined),
the number of files scored and failed, and the mean processing speed. Values that cannot be
computed (NaN, e.g. PESQ on silence) are left out of the means and written as empty / ``n/a``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_path

METRICS = ("snr", "lsd", "lsd_standard", "lsd_hf", "lsd_lf", "pesq", "stoi")
METRIC_LABELS = {
    "snr": "SNR (dB)",
    "lsd": "LSD",
    "lsd_standard": "LSD std.",
    "lsd_hf": "LSD-HF",
    "lsd_lf": "LSD-LF",
    "pesq": "PESQ",
    "stoi": "STOI",
}


def degradation_channel(settings: dict[str, Any]) -> str:
    """The channel an evaluation's low-resolution inputs came through (named ``method`` before 0.2)."""
    degradation = settings["degradation"]
    return str(degradation.get("channel", degradation.get("method")))


def finite_or_none(value: Any) -> Any:
    """NaN and infinities as ``None`` (JSON and CSV have no NaN)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def mean_finite(rows: dict[str, dict[str, Any]] | Sequence[dict[str, Any]], key: str) -> float:
    """Mean of ``row[key]`` over the rows that have a finite value (NaN when none)."""
    values = [r.get(key) for r in (rows.values() if isinstance(rows, dict) else rows)]
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over files of every metric present (``None`` when absent), file count, failures."""
    ok = [r for r in rows if "error" not in r]
    out: dict[str, Any] = {"files": len(ok), "failed": len(rows) - len(ok)}
    for key in (*METRICS, "seconds", "duration"):
        out[key] = finite_or_none(mean_finite(ok, key)) if any(key in r for r in ok) else None
    if out["seconds"] and out["duration"]:
        out["real_time_factor"] = out["duration"] / out["seconds"]  # audio seconds per second of processing
    return out


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows (dicts) as CSV, atomically; the columns are the union of the keys, in order of appearance."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    with atomic_path(path, ours=True) as tmp:
        tmp.write_text(buf.getvalue())


def _fmt(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown: one table (ratio x method), then the settings that matter."""
    s = summary["settings"]
    corpus = s.get("corpus", {})
    where = corpus.get("name") or corpus.get("spec") or "files"
    split = f", split {corpus['split']}" if corpus.get("split") else ""
    present = [k for k in METRICS if any(row.get(k) is not None for row in summary["table"])]
    lines = [
        f"# Evaluation: {where}{split}, {s['files']['count']} files",
        "",
        "Mean over files of per-file values (per-file SNR averaged over files).",
        "",
        "| ratio | method | files | " + " | ".join(METRIC_LABELS[k] for k in present) + " |",
        "|---|---|---:|" + "---:|" * len(present),
    ]
    for row in summary["table"]:
        cells = [_fmt(row.get(k), 3 if k == "stoi" else 2) for k in present]
        files = f"{row['files']}" + ("" if row["complete"] else " (incomplete)")
        lines.append(f"| x{row['ratio']} | {row['method']} | {files} | " + " | ".join(cells) + " |")
    if summary.get("by_group"):
        lines += [
            "",
            "## By group",
            "",
            "Each voice / piece / track of the files on its own (means over its files).",
            "",
            "| ratio | group | method | files | " + " | ".join(METRIC_LABELS[k] for k in present) + " |",
            "|---|---|---|---:|" + "---:|" * len(present),
        ]
        for row in sorted(summary["by_group"], key=lambda r: (r["ratio"], r["group"])):
            cells = [_fmt(row.get(k), 3 if k == "stoi" else 2) for k in present]
            lines.append(
                f"| x{row['ratio']} | {row['group']} | {row['method']} | {row['files']} | "
                + " | ".join(cells)
                + " |"
            )
    lines += [
        "",
        "## Settings",
        "",
        f"- rate: {s['protocol']['sr']} Hz; low resolution: `audio.degrade(hr, r, "
        f'"{degradation_channel(s)}")`'
        + (f"; first {s['protocol']['max_seconds']} s of each file" if s["protocol"]["max_seconds"] else ""),
        f"- files: {s['files']['count']} (list sha256 {s['files']['sha256'][:16]}..., `files.txt`)",
    ]
    for m in s["methods"]:
        if m["kind"] == "network":
            lines.append(
                f"- {m['label']}: {m['network']} x{m['ratio']} at {m['sr']} Hz, {m['params']:,} parameters, "
                f"`{m['path']}` (sha256 {m['sha256'][:16]}...)"
            )
        else:
            lines.append(f'- {m["label"]}: `audio.interpolate(lr, r, "{m["spec"]}")`')
    lines += [f"- {k}: {v}" for k, v in s["metrics"].items()]
    lines += [f"- note: {n}" for n in s.get("notes", [])]
    v = s["versions"]
    lines.append(
        f"- versions: wavesr {v['wavesr']}, torch {v['torch']}, numpy {v['numpy']}, scipy {v['scipy']}"
    )
    return "\n".join(lines) + "\n"

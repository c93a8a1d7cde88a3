"""The peer benchmark's decisions about figures, free of any cluster: medians over runs, ratios, and
the table with a reason in every cell that has no figure. benchmarks/peers.py measures; this decides
what to print (tests/unit/test_benchmark_peers.py)."""

import statistics

PEERS = ("argo-rollouts", "flagger")
SYSTEMS = ("ours",) + PEERS
TITLES = {"ours": "ours", "argo-rollouts": "Argo Rollouts", "flagger": "Flagger"}
# Figure key, label, unit: every release of every system reports these.
FIGURES = (
    ("wall_seconds", "wall", "s"),
    ("overhead_seconds", "overhead", "s"),
    ("api_requests", "API requests", ""),
    ("cpu_seconds", "CPU", "s"),
    ("peak_rss_mib", "peak RSS", " MiB"),
)


def summarise(runs):
    """One figure per key over runs (dicts of figures): the median of the runs that have it, and how many
    runs there were. A run that failed is a dict with `error`: the summary keeps the first error, and
    the figures of the runs that succeeded."""
    measured = [run for run in runs if "error" not in run]
    errors = [run["error"] for run in runs if "error" in run]
    summary = {"runs": len(measured)}
    if errors:
        summary["errors"] = errors
    if not measured:
        summary["unavailable"] = errors[0] if errors else "not run"
        return summary
    for key in sorted({key for run in measured for key in run}):
        values = [run[key] for run in measured if isinstance(run.get(key), (int, float))]
        if values:
            summary[key] = statistics.median(values)
    return summary


def merge(first, *later):
    """One report of several runs (a size or workload measured apart, say): each later run's workloads
    replace the first's of the same name in place, or are added, and a note says which rows come from
    which run, with its date, load and runs; the context line stays the first run's."""
    merged = dict(first, workloads=list(first["workloads"]), notes=list(first.get("notes", [])))
    for other in later:
        names = [workload["name"] for workload in other["workloads"]]
        positions = {workload["name"]: index for index, workload in enumerate(merged["workloads"])}
        for workload in other["workloads"]:
            if workload["name"] in positions:
                merged["workloads"][positions[workload["name"]]] = workload
            else:
                merged["workloads"].append(workload)
        merged["notes"].append("%s: from another run (%s, load %s, runs: %s)" % (
            "; ".join(names), other["date"], other["load"], other["runs"]))
    return merged


def ratio(ours, theirs):
    """How many times the peer's figure ours is (below 1: ours is smaller). None when either is missing
    or not positive: an overhead below zero (a fault caught sooner than one interval) has no ratio."""
    if ours is None or theirs is None or ours <= 0 or theirs <= 0:
        return None
    return ours / theirs


def cell(value, unit):
    if value is None:
        return "-"
    if unit == "":
        return "%d" % round(value)
    return "%.2f%s" % (value, unit)


class Notes:
    """Numbered notes under the table: each distinct text once, cells refer to it as [n]."""

    def __init__(self):
        self.texts = []

    def ref(self, text):
        if text not in self.texts:
            self.texts.append(text)
        return "[%d]" % (self.texts.index(text) + 1)


def rows(workloads, notes):
    """Table rows (lists of cells) for workloads: one row per workload and figure, or one row saying
    why a whole workload has no figures."""
    table = []
    for workload in workloads:
        systems = workload["systems"]
        ours = systems.get("ours", {})
        for key, label, unit in FIGURES:
            row = [workload["name"], label]
            for system in SYSTEMS:
                summary = systems.get(system) or {"unavailable": "not run"}
                if "unavailable" in summary:
                    reason = "%s, %s: %s" % (TITLES[system], workload["name"], summary["unavailable"])
                    row.append("n/a " + notes.ref(reason))
                else:
                    text = cell(summary.get(key), unit)
                    if summary.get("errors") and key == FIGURES[0][0]:
                        # Medians of fewer runs than asked: say so beside the first figure.
                        text += " " + notes.ref("%s, %s: %d of %d runs failed, first: %s" % (
                            TITLES[system], workload["name"], len(summary["errors"]),
                            len(summary["errors"]) + summary["runs"], summary["errors"][0]))
                    row.append(text)
                if system != "ours":
                    value = ratio(ours.get(key), summary.get(key))
                    row.append("-" if value is None else "%.2fx" % value)
            table.append(row)
    return table


HEADER = ["workload", "figure", "ours", "Argo Rollouts", "ours/Argo", "Flagger", "ours/Flagger"]


def render(results):
    """The whole report as text: context line, table, notes."""
    notes = Notes()
    body = rows(results["workloads"], notes)
    for text in results.get("notes", []):
        notes.ref(text)
    widths = [max(len(str(line[i])) for line in [HEADER] + body) for i in range(len(HEADER))]
    versions = ", ".join("%s %s" % (name, version) for name, version in sorted(results["versions"].items()))
    lines = ["date: %s   load: %s   runs: %s" % (results["date"], results["load"], results["runs"]),
             "versions: %s" % versions]
    if results.get("builds"):
        lines.append("builds: " + ", ".join("%s %s" % (name, build) for name, build in sorted(results["builds"].items())))
    lines.append("")
    for line in [HEADER] + body:
        lines.append("  ".join(str(value).ljust(width) for value, width in zip(line, widths)).rstrip())
    lines.append("")
    lines += ["[%d] %s" % (number, text) for number, text in enumerate(notes.texts, 1)]
    return "\n".join(lines)


def markdown(results):
    """The same table for the README."""
    notes = Notes()
    body = rows(results["workloads"], notes)
    for text in results.get("notes", []):
        notes.ref(text)
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    lines += ["| " + " | ".join(str(value) for value in line) + " |" for line in body]
    lines.append("")
    lines += ["%d. %s" % (number, text) for number, text in enumerate(notes.texts, 1)]
    return "\n".join(lines)

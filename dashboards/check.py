#!/usr/bin/env python3
"""Check the dashboards against the metrics ragd and loadgen really expose.

    python3 dashboards/check.py                 # from the repository root
    python3 dashboards/check.py --scrape http://127.0.0.1:8080

Reads ragd/src/metrics.rs, ragd/src/metrics/process.rs and
loadgen/src/export.rs (every `register(...)`, the type of the registered
field and the fields of its label struct), derives the exposed series names
(OpenMetrics: counters get `_total`, histograms `_bucket`, `_sum`, `_count`,
info metrics `_info`, a unit its suffix, gauges keep their name, prefixed
`ragd_` or `loadgen_`; the standard `process_*` series have no prefix), then
checks every PromQL expression of dashboards/grafana/ragd.json (panel
targets, template variables and annotation queries) and, when it exists,
every `ragd_*`/`process_*` name in dashboards/prometheus/alerts.yml:

- every `ragd_*` and `loadgen_*` name is an exposed series;
- every label in a selector `{...}` belongs to that metric (or is `instance`
  or `job`, which Prometheus adds; `le` on `_bucket`);
- every label in `by (...)` and every `{{label}}` of a legend belongs to one
  of the expression's metrics (or instance, job, le).

If `promtool` is installed, it also checks the PromQL syntax of every
expression (as a rules file, with Grafana's variables substituted) and
dashboards/prometheus/prometheus.yml. Exits 1 on any problem.

With `--scrape URL`, it also fetches URL's `/metrics` (a live ragd) and
fails if a `ragd_*` or `process_*` name used by the dashboard or the alert
rules is not exported there. prometheus-client writes nothing for a
labelled family without series yet (Redis errors on a ragd without Redis):
such names are listed, not failed; unlabelled metrics are always written.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (source file, struct that owns the registered fields)
METRICS_RS = [(os.path.join(ROOT, "ragd", "src", "metrics.rs"), "Metrics"),
              (os.path.join(ROOT, "ragd", "src", "metrics", "process.rs"), "ProcessMetrics"),
              (os.path.join(ROOT, "loadgen", "src", "export.rs"), "Metrics")]
METRIC = r"\b(?:ragd|loadgen|process)_\w+"
# Names a live ragd must export (loadgen's come from another process).
RAGD_METRIC = r"\b(?:ragd|process)_\w+"
DASHBOARD = os.path.join(ROOT, "dashboards", "grafana", "ragd.json")
PROMETHEUS = os.path.join(ROOT, "dashboards", "prometheus", "prometheus.yml")
ALERTS = os.path.join(ROOT, "dashboards", "prometheus", "alerts.yml")
ADDED = {"instance", "job"}
# Families of the exporters (cAdvisor, postgres_exporter, redis_exporter)
# and of the process collector: defined outside this repository, so only
# their PromQL syntax is checked (promtool).
FOREIGN = r"\b(?:container|pg|redis|process)_\w+"


def structs(src):
    """name -> {field: type} for every `struct NAME { ... }`."""
    out = {}
    for m in re.finditer(r"struct (\w+)\s*\{(.*?)\n\}", src, re.S):
        fields = {}
        for f in re.finditer(r"^\s*(?:pub )?(\w+):\s*([^\n]+?),?\s*$", m.group(2), re.M):
            fields[f.group(1)] = f.group(2)
        out[m.group(1)] = fields
    return out


def exposed_metrics(src, root_struct):
    """series name -> set of labels."""
    st = structs(src)
    p = re.search(r'Registry::with_prefix\("(\w+)"\)', src)
    prefix = p.group(1) + "_" if p else ""
    series = {}
    # `register("build", "...", Info::new(BuildLabels::...))`: NAME_info.
    for r in re.finditer(r'register\(\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*Info::new\((\w+)::', src):
        series[f"{prefix}{r.group(1)}_info"] = set(st[r.group(2)].keys())
    regs = re.finditer(
        r'register(_with_unit)?\(\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*(?:Unit::(\w+)\s*,\s*)?(?:m\.|self\.)?([\w.]+)\.clone\(\)',
        src, re.S)
    for r in regs:
        name = f"{prefix}{r.group(2)}"
        if r.group(1) and r.group(3):
            name += "_" + r.group(3).lower()
        owner, path = root_struct, r.group(4).split(".")
        for hop in path[:-1]:
            owner = st[owner][hop].strip()
        ty = st[owner][path[-1]]
        labels = set()
        fam = re.match(r"Family<\s*(\w+)\s*,\s*(\w+)", ty)
        if fam:
            labels = set(st[fam.group(1)].keys())
            kind = fam.group(2)
        else:
            kind = re.match(r"(\w+)", ty).group(1)
        if kind == "Counter":
            series[name + "_total"] = labels
        elif kind == "Gauge":
            series[name] = labels
        elif kind == "Histogram":
            series[name + "_bucket"] = labels | {"le"}
            series[name + "_sum"] = labels
            series[name + "_count"] = labels
        else:
            sys.exit(f"check.py: unknown metric type {ty!r} of {name}")
    return series


def expressions(dash):
    """(where, expr, legend) of every PromQL expression in the dashboard."""
    def walk(panels):
        for p in panels:
            yield from walk(p.get("panels", []))
            for t in p.get("targets", []):
                yield p.get("title", "?"), t.get("expr", ""), t.get("legendFormat", "")
    yield from walk(dash.get("panels", []))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            yield (f"annotation {a.get('name')}", a["expr"],
                   a.get("titleFormat", "") + a.get("textFormat", ""))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else q or ""
            m = re.match(r"label_values\((.*),\s*(\w+)\)$", q)
            if m:
                yield f"variable {v['name']}", m.group(1), "{{%s}}" % m.group(2)


def check(series, dash):
    problems = []
    for where, expr, legend in expressions(dash):
        names = re.findall(METRIC, expr)
        if not names:
            if not re.search(FOREIGN, expr):
                problems.append(f"{where}: no ragd_ or loadgen_ metric in {expr!r}")
            continue
        known = set()
        for n in names:
            if n not in series:
                problems.append(f"{where}: {n} is exposed by neither ragd nor loadgen")
            else:
                known |= series[n]
        for n, body in re.findall(r"\b((?:ragd|loadgen)_\w+)\{([^}]*)\}", expr):
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body):
                if n in series and label not in series[n] | ADDED:
                    problems.append(f"{where}: {n} has no label {label!r}")
        grouped = re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
        used = {l.strip() for g in grouped for l in g.split(",") if l.strip()}
        used |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
        for label in sorted(used - known - ADDED - {"le"}):
            problems.append(f"{where}: label {label!r} is on none of {sorted(set(names))}")
    return problems


def promtool(dash):
    tool = shutil.which("promtool")
    if not tool:
        print("promtool not installed: PromQL syntax not checked")
        return []
    rules, problems = [], []
    for i, (where, expr, _) in enumerate(expressions(dash)):
        e = (expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
             .replace("$instance", ".*"))
        rules.append({"record": f"check:expr_{i}", "expr": e})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    try:
        for args in (["check", "rules", f.name], ["check", "config", PROMETHEUS]):
            r = subprocess.run([tool, *args], capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"promtool {args[1]}: {r.stdout}{r.stderr}")
    finally:
        os.unlink(f.name)
    print(f"promtool: {len(rules)} expressions and prometheus.yml checked")
    return problems


def alert_names():
    """`ragd_*`/`process_*` names used in alerts.yml (comments and the
    rules' own `record:` names left out); empty when the file is absent."""
    if not os.path.exists(ALERTS):
        return set()
    text = open(ALERTS).read()
    lines = [l.split("#", 1)[0] if l.lstrip().startswith("#") else l for l in text.splitlines()]
    body = "\n".join(lines)
    recorded = set(re.findall(r"record:\s*[\"']?([\w:]+)", body))
    return {n for n in re.findall(RAGD_METRIC, body) if n not in recorded}


def scraped_names(url):
    """Every series name a live /metrics exports, with the names its `# TYPE`
    lines declare (a registered family without series yet)."""
    import urllib.request
    if not re.search(r"/metrics/?$", url):
        url = url.rstrip("/") + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    names = set()
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\w+)", line)
        if m:
            base, kind = m.groups()
            names |= {
                "counter": {base + "_total", base},
                "histogram": {base + "_bucket", base + "_sum", base + "_count"},
                "info": {base + "_info"},
            }.get(kind, {base})
        elif line and not line.startswith("#"):
            names.add(re.match(r"[^{\s]+", line).group(0))
    return url, names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scrape", metavar="URL",
                    help="also check the names against a live ragd's /metrics")
    args = ap.parse_args()
    series = {}
    for path, owner in METRICS_RS:
        found = exposed_metrics(open(path).read(), owner)
        if not found:
            sys.exit(f"check.py: no metric found in {os.path.relpath(path, ROOT)}; has its registration changed shape?")
        series.update(found)
    dash = json.load(open(DASHBOARD))
    problems = check(series, dash) + promtool(dash)
    alerts = alert_names()
    for n in sorted(alerts - set(series)):
        problems.append(f"alerts.yml: {n} is not exposed by ragd")
    n = sum(1 for _ in expressions(dash))
    print(f"{len(series)} series in {', '.join(os.path.relpath(p, ROOT) for p, _ in METRICS_RS)}; "
          f"{n} expressions in {os.path.relpath(DASHBOARD, ROOT)}; "
          + (f"{len(alerts)} ragd names in alerts.yml" if os.path.exists(ALERTS) else "no alerts.yml"))
    used = {m for _, e, _ in expressions(dash) for m in re.findall(METRIC, e)}
    unused = sorted(s for s in series if s not in used and not s.endswith(("_sum", "_count")))
    if unused:
        print("not on the dashboard:", ", ".join(unused))
    if args.scrape:
        url, live = scraped_names(args.scrape)
        wanted = {m for m in used | alerts if re.fullmatch(RAGD_METRIC, m)}
        # prometheus-client writes nothing for a labelled family without
        # series yet (Redis errors on a ragd without Redis): such a name is
        # listed, not failed. Every other name must be there.
        absent = sorted(wanted - live)
        waiting = [m for m in absent if series.get(m, set()) - {"le"}]
        for m in absent:
            if m not in waiting:
                problems.append(f"{url}: {m} is used by the dashboard or alerts but not exported")
        if waiting:
            print(f"{url}: labelled families with no series yet: {', '.join(waiting)}")
        print(f"{url}: {len(wanted) - len(absent)} of {len(wanted)} ragd names used by the dashboard and alerts are exported")
    for p in problems:
        print("PROBLEM:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

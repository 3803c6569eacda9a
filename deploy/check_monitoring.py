"""Offline checks of the monitoring component, run by deploy/validate.sh.

    python deploy/check_monitoring.py ROOT RENDERED.yaml [RENDERED.yaml...]

- The Grafana dashboard JSON (components/monitoring/dashboard.json) parses, and every panel has at
  least one target with an expression.
- Every PromQL expression (PrometheusRule rules, dashboard targets and variables) names only
  metrics that the code declares (prometheus_client Counter/Gauge/Histogram calls in shared/ and
  services/, read from the source without importing it), with the series suffixes
  prometheus_client exposes (_total, _bucket/_sum/_count), and selects only labels those metrics
  have (plus the ones the scrape adds: namespace, service, pod, job, instance).
- Every alert has severity, summary and a runbook_url "docs/alerts.md#anchor" whose anchor is a
  heading of docs/alerts.md, and every heading of an alert there has an alert.
- A canary: an expression naming a metric that does not exist, or a label it lacks, is rejected.
"""

from __future__ import annotations

import ast
import contextlib
import json
import pathlib
import re
import sys

import yaml

#: Labels added by the scrape (PodMonitor relabelings and Prometheus itself), not by the code.
SCRAPE_LABELS = {"namespace", "service", "pod", "job", "instance", "container", "endpoint"}
#: Metrics that are not Sharaka's but may appear in expressions.
EXTERNAL = {"up"}


def declared_metrics(root: pathlib.Path) -> dict[str, set[str]]:
    """Series name -> label names, for every metric declared in shared/ and services/."""
    series: dict[str, set[str]] = {}
    for path in sorted([*root.joinpath("shared").rglob("*.py"), *root.joinpath("services").rglob("*.py")]):
        try:
            tree = ast.parse(path.read_text())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))):
                continue
            kind = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if kind not in ("Counter", "Gauge", "Histogram", "Summary") or not node.args:
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            name = first.value
            labels: set[str] = set()
            label_arg = node.args[2] if len(node.args) > 2 else None
            for kw in node.keywords:
                if kw.arg == "labelnames":
                    label_arg = kw.value
            if label_arg is not None:
                with contextlib.suppress(ValueError):
                    labels = set(ast.literal_eval(label_arg))
            if kind == "Counter":
                base = name[: -len("_total")] if name.endswith("_total") else name
                series[base + "_total"] = labels
            elif kind == "Gauge":
                series[name] = labels
            else:
                series[name + "_bucket"] = labels | {"le"}
                series[name + "_sum"] = labels
                series[name + "_count"] = labels
    return series


SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
FUNCS_AND_KEYWORDS = {
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "absent",
    "absent_over_time",
    "histogram_quantile",
    "label_values",
    "label_replace",
    "clamp_min",
    "clamp_max",
    "offset",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "sum_over_time",
    "count_over_time",
    "vector",
    "scalar",
    "time",
    "humanize",
    "le",
    "count_values",
    "changes",
    "resets",
    "sort",
    "sort_desc",
}


def check_expr(expr: str, metrics: dict[str, set[str]]) -> list[str]:
    problems = []
    # Drop quoted strings (label values, legend formats) and grouping clauses before matching names.
    expr = re.sub(r"label_values\(([^,()]+(?:\{[^}]*\})?)\s*,[^)]*\)", r"\1", expr)
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)
    named = 0
    for m in SELECTOR.finditer(re.sub(r'"[^"]*"', '""', stripped)):
        name, sel = m.group(1), m.group(2)
        if name in FUNCS_AND_KEYWORDS or name.startswith("$"):
            continue
        if re.fullmatch(r"[0-9.e+-]+", name):
            continue
        if name in EXTERNAL:
            named += 1
            continue
        if name not in metrics:
            problems.append(f"unknown metric {name!r}")
            continue
        named += 1
        if sel:
            for key in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", sel):
                if key not in metrics[name] | SCRAPE_LABELS:
                    problems.append(f"{name} has no label {key!r} (has {sorted(metrics[name])})")
    if not named:
        problems.append("names no metric")
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def main(root: pathlib.Path, rendered: list[pathlib.Path]) -> list[str]:
    errors: list[str] = []
    metrics = declared_metrics(root)
    if "sharaka_events_consumed_total" not in metrics:
        errors.append(f"metric discovery found no sharaka_events_consumed_total: {sorted(metrics)}")

    # Canary: the checker must reject a made-up metric and a made-up label.
    if (
        not check_expr("sum(rate(sharaka_no_such_metric_total[5m]))", metrics)
        or not check_expr('sharaka_outbox_backlog{no_such_label="x"}', metrics)
        or check_expr(
            'sum by (service) (increase(sharaka_events_consumed_total{outcome="dead_lettered"}[5m]))', metrics
        )
    ):
        errors.append("canary: the expression checker does not tell real metrics from made-up ones")

    alerts_md = root / "docs" / "alerts.md"
    anchors = set()
    if alerts_md.exists():
        anchors = {slug(h) for h in re.findall(r"^#{2,3}\s+(.+)$", alerts_md.read_text(), re.M)}
    else:
        errors.append("docs/alerts.md missing")

    dash_path = root / "deploy" / "k8s" / "components" / "monitoring" / "dashboard.json"
    try:
        dash = json.loads(dash_path.read_text())
    except (OSError, ValueError) as e:
        errors.append(f"dashboard.json: {e}")
        dash = {}
    exprs: list[tuple[str, str]] = []
    for panel in dash.get("panels", []):
        for sub in [panel, *panel.get("panels", [])]:
            if sub.get("type") == "row":
                continue
            targets = [t for t in sub.get("targets", []) if t.get("expr")]
            if not targets:
                errors.append(f"dashboard panel {sub.get('title')!r}: no target with an expr")
            exprs += [(f"dashboard panel {sub.get('title')!r}", t["expr"]) for t in targets]
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if var.get("type") == "query" and q:
            exprs.append((f"dashboard variable {var.get('name')}", q))
    if dash and not exprs:
        errors.append("dashboard.json: no panels with expressions")

    alert_anchors = set()
    rules_seen = 0
    for path in rendered:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "PrometheusRule":
                continue
            for group in doc["spec"]["groups"]:
                for rule in group["rules"]:
                    rules_seen += 1
                    name = rule.get("alert") or rule.get("record")
                    exprs.append((f"{path.name} {name}", rule["expr"]))
                    if "alert" not in rule:
                        continue
                    ann, labels = rule.get("annotations", {}), rule.get("labels", {})
                    if not labels.get("severity") or not ann.get("summary"):
                        errors.append(f"alert {name}: needs labels.severity and annotations.summary")
                    url = ann.get("runbook_url", "")
                    m = re.fullmatch(r"docs/alerts\.md#([\w-]+)", url)
                    if not m:
                        errors.append(f"alert {name}: runbook_url {url!r} must be docs/alerts.md#<anchor>")
                    elif m.group(1) not in anchors:
                        errors.append(f"alert {name}: no heading for #{m.group(1)} in docs/alerts.md")
                    else:
                        alert_anchors.add(m.group(1))
    if not rules_seen:
        errors.append("no PrometheusRule rules found in the monitoring rendering")
    for a in sorted(a for a in anchors if a.startswith("sharaka") and a not in alert_anchors):
        errors.append(f"docs/alerts.md #{a}: no alert points to this section")

    for where, expr in exprs:
        for problem in check_expr(expr, metrics):
            errors.append(f"{where}: {problem}: {expr.strip()}")
    print(
        f"{len(exprs)} expressions checked against {len(metrics)} series names; "
        f"{len(alert_anchors)} runbook anchors"
    )
    return errors


if __name__ == "__main__":
    errs = main(pathlib.Path(sys.argv[1]), [pathlib.Path(p) for p in sys.argv[2:]])
    for e in errs:
        print(f"ERROR: {e}")
    sys.exit(1 if errs else 0)

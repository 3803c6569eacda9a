"""Checks of the rendered manifests and the Dockerfile beyond step 6 of deploy/validate.sh.

    python deploy/check_manifests.py ROOT WORK

ROOT is the repository, WORK the validation directory (its rendered/*.yaml are kustomize outputs,
named <target>.yaml or <target>+<component>.yaml). Run by validate.sh; exits non-zero on an error.

- Every workload's pod template carries the labels its selector matches (a Deployment whose
  template labels drifted from its selector is rejected by the API server, or worse, selects
  nothing its Service or PDB expects).
- The Dockerfile's base images are pinned (digest or exact version tag), not given through an ARG.
- Placeholders (`*.invalid`, `example.com/.org`, CHANGE-ME) in the production renderings.
- The cluster CA Secret is mounted whole (every ca-*.crt during a renewal), not ca.crt alone.
- Kafka: node pool anti-affinity on the hostname and rack awareness, outside dev.
- Components: the ScaledObjects (target, group, SCRAM over TLS, replica bounds against the
  partitions the service reads), the PodMonitors (selector and port match a Deployment), the Kafka
  metrics wiring, and the migration Jobs (command, settings of the service).
- Canaries: each check above rejects a broken input.

Placeholders and an unpinned base image are errors with SHARAKA_RELEASE=1 (the gate before a
release is deployed), and printed as findings otherwise: the production overlay in this
repository is a template whose CHANGE-ME values each installation fills in, and the Dockerfile
belongs to the image's owners.
"""

from __future__ import annotations

import os
import pathlib
import re
import runpy
import sys

import yaml

SERVICES = ("plans", "consultation", "irm", "notifications")
PLACEHOLDER = re.compile(r"\.invalid\b|\bexample\.(com|org|net)\b|CHANGE-ME", re.I)
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def selector_problems(doc: dict) -> list[str]:
    if doc.get("kind") not in WORKLOADS:
        return []
    spec = doc.get("spec", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {}) or {}
    sel = spec.get("selector")
    where = f"{doc['kind']}/{doc['metadata']['name']}"
    if sel is None:
        return [] if doc["kind"] == "Job" else [f"{where}: no selector"]
    problems = []
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            problems.append(f"{where}: selector {k}={v} but the pod template has {k}={labels.get(k)}")
    for e in sel.get("matchExpressions") or []:
        value = labels.get(e["key"])
        ok = {
            "In": value in e.get("values", []),
            "NotIn": value not in e.get("values", []),
            "Exists": e["key"] in labels,
            "DoesNotExist": e["key"] not in labels,
        }[e["operator"]]
        if not ok:
            problems.append(f"{where}: selector expression {e} does not match the pod template")
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        problems.append(f"{where}: empty selector")
    return problems


def dockerfile_problems(text: str) -> list[str]:
    problems, stages = [], set()
    for line in re.findall(r"^\s*FROM\s+(.+)$", text, re.M | re.I):
        parts = [p for p in line.split() if not p.startswith("--")]
        image = parts[0]
        if len(parts) >= 3 and parts[1].lower() == "as":
            stages.add(parts[2].lower())
        if image.lower() in stages or image == "scratch":
            continue
        if "$" in image:
            problems.append(f"FROM {image}: the base image comes from an ARG; pin it in the FROM line")
        elif "@sha256:" in image:
            continue
        elif not re.search(r":[^/]*\d+\.\d+\.\d+[^/]*$", image):
            problems.append(f"FROM {image}: not pinned (use an exact version tag or a @sha256 digest)")
    return problems


def placeholders(doc, path="") -> list[str]:
    found = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += placeholders(v, f"{path}.{k}" if path else str(k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += placeholders(v, f"{path}[{i}]")
    elif isinstance(doc, str) and PLACEHOLDER.search(doc):
        found.append(f"{path} = {doc.strip()[:100]}")
    return found


def main(root: pathlib.Path, work: pathlib.Path) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    findings: list[str] = []
    release = os.environ.get("SHARAKA_RELEASE") == "1"
    strict_or_find = errors.append if release else findings.append

    t = runpy.run_path(str(root / "shared" / "events" / "topics.py"))
    reads = {
        "plans": {t["IRM"], t["CONSULTATION"]},
        "consultation": {t["PLANS"], t["ERASURES"]},
        "irm": {t["PLANS"]},
        "notifications": {
            t["PLANS"],
            t["IRM"],
            t["CONSULTATION"],
            t["PLANS_CONTACTS"],
            t["CONSULTATION_CONTACTS"],
            t["ERASURES"],
        },
    }

    # --- canaries -------------------------------------------------------------------------------
    bad_dep = {
        "kind": "Deployment",
        "metadata": {"name": "canary"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}},
        },
    }
    if not selector_problems(bad_dep):
        errors.append("canary: a Deployment whose template labels differ from its selector passed")
    if (
        not dockerfile_problems("ARG IMG=python:3.11-slim\nFROM ${IMG} AS build\n")
        or not dockerfile_problems("FROM python:3.11-slim\n")
        or dockerfile_problems("FROM python:3.11.9-slim-bookworm AS b\nFROM b\n")
    ):
        errors.append("canary: the Dockerfile base-image check does not tell pinned from unpinned")
    if not placeholders({"a": ["x", "smtp.sharaka.invalid"]}) or placeholders({"a": "smtp.gov.xx"}):
        errors.append("canary: the placeholder check does not find placeholders")

    # --- Dockerfile -----------------------------------------------------------------------------
    for p in dockerfile_problems((root / "Dockerfile").read_text()):
        strict_or_find(f"Dockerfile: {p}")

    renderings = sorted((work / "rendered").glob("*.yaml"))
    for path in renderings:
        name = path.stem
        target, _, component = name.partition("+")
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
        cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
        topics = {
            d["spec"].get("topicName", d["metadata"]["name"]): d["spec"]
            for d in docs
            if d["kind"] == "KafkaTopic"
        }

        for d in docs:
            errors += [f"{name}: {p}" for p in selector_problems(d)]

        # Placeholders: the production rendering with every component (a superset of the others).
        if name == "production+all" or (
            name == "production" and not (work / "rendered" / "production+all.yaml").exists()
        ):
            for d in docs:
                for p in placeholders(d):
                    strict_or_find(f"{name} {d['kind']}/{d['metadata']['name']}: placeholder {p}")

        for s in SERVICES:
            dep = by.get(("Deployment", f"sharaka-{s}"))
            if not dep:
                continue
            for v in dep["spec"]["template"]["spec"].get("volumes", []):
                if v.get("secret", {}).get("secretName") == "sharaka-cluster-ca-cert" and v["secret"].get(
                    "items"
                ):
                    errors.append(
                        f"{name} sharaka-{s}: mount the whole sharaka-cluster-ca-cert Secret "
                        "(every ca-*.crt during a CA renewal), not selected items"
                    )

        kafka = by.get(("Kafka", "sharaka"))
        pools = [d for d in docs if d["kind"] == "KafkaNodePool"]
        if kafka and target != "dev":
            if kafka["spec"]["kafka"].get("rack", {}).get("topologyKey") != "topology.kubernetes.io/zone":
                errors.append(f"{name}: Kafka rack.topologyKey must be topology.kubernetes.io/zone")
            for pool in pools:
                pod = pool["spec"].get("template", {}).get("pod", {})
                terms = (
                    pod.get("affinity", {})
                    .get("podAntiAffinity", {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution", [])
                )
                if not any(x.get("topologyKey") == "kubernetes.io/hostname" for x in terms):
                    errors.append(
                        f"{name} KafkaNodePool/{pool['metadata']['name']}: required pod "
                        "anti-affinity on kubernetes.io/hostname expected"
                    )
                if not any(
                    c.get("topologyKey") == "topology.kubernetes.io/zone"
                    for c in pod.get("topologySpreadConstraints", [])
                ):
                    errors.append(
                        f"{name} KafkaNodePool/{pool['metadata']['name']}: zone topology spread expected"
                    )

        # --- autoscaling ------------------------------------------------------------------------
        scaled = [d for d in docs if d["kind"] == "ScaledObject"]
        auths = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "TriggerAuthentication"}
        if component in ("autoscaling", "all") and {d["metadata"]["name"] for d in scaled} != {
            f"sharaka-{s}" for s in SERVICES
        }:
            errors.append(f"{name}: one ScaledObject per consuming service expected")
        for so in scaled:
            spec, where = so["spec"], f"{name} ScaledObject/{so['metadata']['name']}"
            target_name = spec["scaleTargetRef"]["name"]
            s = target_name.removeprefix("sharaka-")
            dep = by.get(("Deployment", target_name))
            if not dep or s not in SERVICES:
                errors.append(f"{where}: targets no Sharaka Deployment ({target_name})")
                continue
            cap = max(topics[x]["partitions"] for x in reads[s] if x in topics)
            lo, hi = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
            if not 1 <= lo <= hi <= cap:
                errors.append(
                    f"{where}: need 1 <= minReplicaCount ({lo}) <= maxReplicaCount ({hi}) "
                    f"<= partitions of the topics it reads ({cap})"
                )
            config = {}
            for ref in dep["spec"]["template"]["spec"]["containers"][0].get("envFrom", []):
                config.update(cms.get(ref.get("configMapRef", {}).get("name"), {}).get("data", {}))
            for trig in spec["triggers"]:
                m = trig.get("metadata", {})
                if trig["type"] != "kafka":
                    errors.append(f"{where}: only kafka triggers expected")
                    continue
                prefix = s.upper() + "_"
                if m.get("bootstrapServers") != config.get(prefix + "KAFKA_BOOTSTRAP"):
                    errors.append(f"{where}: bootstrapServers differs from {prefix}KAFKA_BOOTSTRAP")
                if m.get("consumerGroup") != f"sharaka-{s}":
                    errors.append(f"{where}: consumerGroup must be sharaka-{s}")
                if m.get("sasl") != "scram_sha512" or m.get("tls") != "enable":
                    errors.append(f"{where}: sasl scram_sha512 and tls enable expected")
                if str(m.get("allowIdleConsumers", "false")) != "false":
                    errors.append(f"{where}: allowIdleConsumers must stay false")
                auth = auths.get(trig.get("authenticationRef", {}).get("name"))
                if auth is None:
                    errors.append(f"{where}: its TriggerAuthentication is missing")
                    continue
                params = {r["parameter"]: r for r in auth.get("secretTargetRef", [])}
                cparams = {r["parameter"]: r for r in auth.get("configMapTargetRef", [])}
                if (
                    params.get("password", {}).get("name") != f"sharaka-{s}"
                    or params.get("password", {}).get("key") != "password"
                ):
                    errors.append(f"{where}: password must come from Secret sharaka-{s} key password")
                if params.get("ca", {}).get("name") != "sharaka-cluster-ca-cert":
                    errors.append(f"{where}: ca must come from Secret sharaka-cluster-ca-cert")
                u = cparams.get("username", {})
                if cms.get(u.get("name"), {}).get("data", {}).get(u.get("key")) != f"sharaka-{s}":
                    errors.append(f"{where}: username must resolve to sharaka-{s}")

        # --- monitoring -------------------------------------------------------------------------
        pms = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodMonitor"}
        if component in ("monitoring", "all"):
            for s in SERVICES:
                pm, dep = pms.get(f"sharaka-{s}"), by.get(("Deployment", f"sharaka-{s}"))
                if not pm or not dep:
                    errors.append(f"{name}: PodMonitor sharaka-{s} missing")
                    continue
                labels = dep["spec"]["template"]["metadata"]["labels"]
                if any(labels.get(k) != v for k, v in pm["selector"].get("matchLabels", {}).items()):
                    errors.append(f"{name} PodMonitor/sharaka-{s}: selector does not match the pods")
                ports = {p.get("name") for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
                for ep in pm["podMetricsEndpoints"]:
                    if ep.get("port") not in ports or ep.get("path", "/metrics") != "/metrics":
                        errors.append(
                            f"{name} PodMonitor/sharaka-{s}: port {ep.get('port')} is no "
                            f"container port {sorted(ports)} or path is not /metrics"
                        )
            if not any(
                pm["selector"].get("matchLabels", {}).get("strimzi.io/kind") == "Kafka" for pm in pms.values()
            ):
                errors.append(f"{name}: no PodMonitor for the Kafka pods")
            k = kafka["spec"] if kafka else {}
            ref = k.get("kafka", {}).get("metricsConfig", {}).get("valueFrom", {}).get("configMapKeyRef", {})
            if ref.get("key") not in cms.get(ref.get("name"), {}).get("data", {}):
                errors.append(f"{name}: Kafka metricsConfig must reference an existing ConfigMap key")
            if "kafkaExporter" not in k:
                errors.append(f"{name}: Kafka Exporter (spec.kafkaExporter) expected")
            if not any(d["metadata"].get("labels", {}).get("grafana_dashboard") for d in cms.values()):
                errors.append(f"{name}: no ConfigMap labelled grafana_dashboard")

        # --- network -------------------------------------------------------------------------------
        if component in ("network", "all"):
            services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
            ingresses = [d for d in docs if d["kind"] == "Ingress"]
            if not ingresses:
                errors.append(f"{name}: no Ingress")
            for ing in ingresses:
                for rule in ing["spec"].get("rules", []):
                    for path in rule.get("http", {}).get("paths", []):
                        where = f"{name} Ingress/{ing['metadata']['name']} {rule.get('host')}{path['path']}"
                        if not path["path"].startswith("/v1") or path.get("pathType") != "Prefix":
                            errors.append(
                                f"{where}: only Prefix /v1 paths may be public "
                                "(/metrics, /docs, /healthz, /readyz stay internal)"
                            )
                        b = path["backend"]["service"]
                        svc = services.get(b["name"])
                        if not svc or b["port"].get("name", b["port"].get("number")) not in [
                            p.get("name") for p in svc["spec"]["ports"]
                        ] + [p["port"] for p in svc["spec"]["ports"]]:
                            errors.append(f"{where}: backend {b} is no Service port")
            pods = [
                d["spec"]["template"]["metadata"].get("labels", {}) for d in docs if d["kind"] in WORKLOADS
            ]
            policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
            for d in policies:
                fake = {
                    "kind": "Deployment",
                    "metadata": {"name": d["metadata"]["name"]},
                    "spec": {"selector": d["spec"]["podSelector"], "template": {"metadata": {"labels": {}}}},
                }
                if not any(
                    not selector_problems(
                        {**fake, "spec": {**fake["spec"], "template": {"metadata": {"labels": lb}}}}
                    )
                    for lb in pods
                ):
                    errors.append(f"{name} NetworkPolicy/{d['metadata']['name']}: selects no pod")
            deny = [
                d
                for d in policies
                if not d["spec"].get("ingress")
                and not d["spec"].get("egress")
                and set(d["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            ]
            if not deny:
                errors.append(f"{name}: a default-deny NetworkPolicy (Ingress and Egress) is expected")
            for d in docs:
                if (
                    d["kind"] in WORKLOADS
                    and d["metadata"]["name"].startswith("sharaka-")
                    and d["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/part-of")
                    != "sharaka"
                ):
                    errors.append(
                        f"{name} {d['kind']}/{d['metadata']['name']}: pods need "
                        "app.kubernetes.io/part-of=sharaka (the NetworkPolicies select it)"
                    )

        # --- postgres (CloudNativePG) ----------------------------------------------------------------
        if component in ("postgres", "all"):
            clusters = [d for d in docs if d["kind"] == "Cluster"]
            if len(clusters) != 1:
                errors.append(f"{name}: one CloudNativePG Cluster expected")
                clusters = []
            for cl in clusters:
                cname, spec = cl["metadata"]["name"], cl["spec"]
                init = spec.get("bootstrap", {}).get("initdb", {})
                dbs = {init.get("database"): init.get("owner")}
                dbs.update(
                    {
                        d["spec"]["name"]: d["spec"]["owner"]
                        for d in docs
                        if d["kind"] == "Database" and d["spec"]["cluster"]["name"] == cname
                    }
                )
                if dbs != {f"sharaka_{s}": s for s in SERVICES}:
                    errors.append(
                        f"{name}: databases {dbs} != one sharaka_<service> per service, owned by it"
                    )
                roles = {r["name"] for r in spec.get("managed", {}).get("roles", []) if r.get("login")}
                if roles | {init.get("owner")} != set(SERVICES):
                    errors.append(f"{name}: Cluster {cname} must have a login role per service")
                if spec.get("instances", 1) < 3 and target != "dev":
                    errors.append(f"{name}: Cluster {cname}: 3 instances expected outside dev")
                if not spec.get("backup"):
                    errors.append(f"{name}: Cluster {cname}: backup (WAL archiving) expected")
                if not any(
                    d["kind"] == "ScheduledBackup" and d["spec"]["cluster"]["name"] == cname for d in docs
                ):
                    errors.append(f"{name}: no ScheduledBackup for Cluster {cname}")

        # --- migration Jobs ---------------------------------------------------------------------
        jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Job"}
        if component in ("migrate-job", "all"):
            for s in SERVICES:
                job, dep = jobs.get(f"sharaka-{s}-migrate"), by.get(("Deployment", f"sharaka-{s}"))
                if not job or not dep:
                    errors.append(f"{name}: Job sharaka-{s}-migrate missing")
                    continue
                (c,) = job["spec"]["template"]["spec"]["containers"]
                (dc,) = dep["spec"]["template"]["spec"]["containers"]
                where = f"{name} Job/sharaka-{s}-migrate"
                if c.get("args") != ["shared.ops", "migrate", "--service", s]:
                    errors.append(f"{where}: args must be shared.ops migrate --service {s}")
                # (base+component: base's own images transformer does not reach the component.)
                if target != "base" and c.get("image") != dc.get("image"):
                    errors.append(
                        f"{where}: image {c.get('image')} differs from the Deployment's {dc.get('image')}"
                    )
                if c.get("envFrom") != dc.get("envFrom"):
                    errors.append(f"{where}: envFrom differs from the Deployment's (the service's settings)")
                denv = {e["name"]: e for e in dc.get("env", [])}
                for e in c.get("env", []):
                    if denv.get(e["name"]) != e:
                        errors.append(f"{where}: env {e['name']} differs from the Deployment's")
                for e in denv.values():
                    # Settings that a validator checks together with the ConfigMap's must be there too.
                    if e["name"].endswith(("DATABASE_URL", "LINK_SECRET")) and e["name"] not in {
                        x["name"] for x in c.get("env", [])
                    }:
                        errors.append(f"{where}: env {e['name']} missing (the Deployment sets it)")
                sc = c.get("securityContext", {})
                if (
                    sc.get("readOnlyRootFilesystem") is not True
                    or sc.get("allowPrivilegeEscalation") is not False
                ):
                    errors.append(f"{where}: locked-down securityContext expected")
    print(
        f"{len(renderings)} renderings checked"
        + ("" if not findings else f"; {len(findings)} findings (errors with SHARAKA_RELEASE=1)")
    )
    return errors, findings


if __name__ == "__main__":
    errs, finds = main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
    for f in sorted(set(finds)):
        print(f"FINDING: {f}")
    for e in errs:
        print(f"ERROR: {e}")
    sys.exit(1 if errs else 0)

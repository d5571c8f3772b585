#!/usr/bin/env python3
"""Static checks of the deployment files, beside what the tools check.

    python3 tests/deploy_check.py compose RENDERED.yml...   # `docker-compose config` outputs
    python3 tests/deploy_check.py alerts
    python3 tests/deploy_check.py dockerfile
    python3 tests/deploy_check.py k8s RENDERED.yml...       # `kubectl kustomize` outputs
    python3 tests/deploy_check.py nginx-run NGINX WORKDIR   # runs compose/nginx.conf on 127.0.0.1

Run by tests/deploy-check.sh (needs PyYAML: the venv it makes has it).
Each problem is printed as `FILE: why`; exits 1 if there is any.
"""
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBLEMS = []


def problem(where, why):
    PROBLEMS.append(f"{where}: {why}")


def rel(path):
    return os.path.relpath(path, ROOT)


# --- compose -----------------------------------------------------------------
def check_compose(rendered):
    """Every service: healthcheck, CPU and memory limits, pinned image,
    loopback-only ports, waits for healthy dependencies; no password left in
    the file itself."""
    for path in rendered:
        doc = yaml.safe_load(open(path))
        label = os.path.basename(path)
        for name, svc in (doc.get("services") or {}).items():
            where = f"{label}: service {name}"
            if not svc.get("healthcheck") or svc["healthcheck"].get("disable"):
                problem(where, "no healthcheck")
            # Limits make every percentage (docker stats, ragctl top, loadgen's
            # cpu/memory thresholds) a share of the container's own budget.
            limits = (svc.get("deploy") or {}).get("resources", {}).get("limits", {})
            if not (svc.get("cpus") or limits.get("cpus")):
                problem(where, "no CPU limit (cpus)")
            if not (svc.get("mem_limit") or limits.get("memory")):
                problem(where, "no memory limit (mem_limit)")
            image = svc.get("image", "")
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            if not tag or tag == "latest":
                problem(where, f"image {image!r} is not pinned to a version tag")
            for port in svc.get("ports") or []:
                ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
                if ip != "127.0.0.1":
                    problem(where, f"port {port} is published beyond 127.0.0.1")
                target = port.get("target") if isinstance(port, dict) else None
                if name.startswith("ragd") and target == 9091 and "embedded" not in label:
                    problem(where, "ragd's admin port 9091 is published")
            deps = svc.get("depends_on") or {}
            if isinstance(deps, list):
                problem(where, f"depends_on {deps} does not wait for health")
            else:
                for dep, cond in deps.items():
                    if (cond or {}).get("condition") != "service_healthy":
                        problem(where, f"depends_on {dep} is not condition: service_healthy")
    # Secrets only from .env: the source files hold no password literal.
    for f in sorted(os.listdir(os.path.join(ROOT, "compose"))):
        if not f.endswith(".yml"):
            continue
        text = open(os.path.join(ROOT, "compose", f)).read()
        for m in re.finditer(r"PASSWORD:-[^}]", text):
            problem(f"compose/{f}", f"a password has a default in the file: {m.group(0)}...")
        for m in re.finditer(r"(?i)(password|requirepass)\s*[:=]\s*['\"]?[A-Za-z0-9]", text):
            if "${" not in text[m.start():m.start() + 80].split("\n")[0]:
                problem(f"compose/{f}", f"a literal password: {text[m.start():m.end() + 10]!r}")


# --- alerts ------------------------------------------------------------------
def anchors(markdown):
    """GitHub-style anchors of the markdown headings."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(a)
    return out


def check_alerts():
    rules_path = os.path.join(ROOT, "dashboards", "prometheus", "alerts.yml")
    tests_path = os.path.join(ROOT, "dashboards", "prometheus", "alerts.test.yml")
    runbook_path = os.path.join(ROOT, "docs", "RUNBOOK.md")
    rules = yaml.safe_load(open(rules_path))
    tests = yaml.safe_load(open(tests_path))
    runbook = anchors(open(runbook_path).read())
    alerts = []
    for g in rules["groups"]:
        for r in g["rules"]:
            if "alert" not in r:
                continue
            name, where = r["alert"], f"{rel(rules_path)}: {r['alert']}"
            alerts.append(name)
            sev = r.get("labels", {}).get("severity")
            if sev not in ("critical", "warning"):
                problem(where, f"severity {sev!r} is neither critical nor warning")
            if not r.get("for"):
                problem(where, "no `for:` duration")
            ann = r.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    problem(where, f"no {key} annotation")
            url = ann.get("runbook_url", "")
            if not url.startswith("docs/RUNBOOK.md#"):
                problem(where, f"runbook_url {url!r} does not point into docs/RUNBOOK.md")
            elif url.split("#", 1)[1] not in runbook:
                problem(where, f"docs/RUNBOOK.md has no section #{url.split('#', 1)[1]}")
    fired, quiet = set(), set()
    for t in tests["tests"]:
        for case in t.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    for name in alerts:
        if name not in fired:
            problem(rel(tests_path), f"no test in which {name} fires")
        if name not in quiet:
            problem(rel(tests_path), f"no test in which {name} stays quiet")
    print(f"alerts: {len(alerts)} alerts, each with a runbook section, a firing and a quiet test")


# --- Dockerfile and build-image.sh -------------------------------------------
def check_dockerfile():
    path = os.path.join(ROOT, "Dockerfile")
    text = open(path).read()
    lines = [l for l in re.sub(r"\\\n", " ", text).splitlines() if l.strip() and not l.lstrip().startswith("#")]
    stages = [l for l in lines if re.match(r"(?i)FROM\s+\S+\s+AS\s+\w+", l)]
    if len(stages) < 2:
        problem(rel(path), "not multi-stage (FROM ... AS name, at least twice)")
    last = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM"))
    final = lines[last:]
    users = [l.split(None, 1)[1] for l in final if l.upper().startswith("USER ")]
    if not users or not re.match(r"[1-9]\d*(:\d+)?$", users[-1].strip()):
        problem(rel(path), f"the final stage's USER is not a numeric non-root user: {users}")
    hc = [l for l in final if l.upper().startswith("HEALTHCHECK")]
    if not hc or not re.search(r'"/ragd",\s*"probe"', hc[-1]):
        problem(rel(path), "the final stage has no HEALTHCHECK through `ragd probe`")
    if not re.search(r"(?i)^FROM\s+\S+:\S+", "\n".join(lines), re.M):
        problem(rel(path), "base images are not pinned")
    script = os.path.join(ROOT, "compose", "build-image.sh")
    s = open(script).read()
    if not re.search(r"--change \"USER \$UID_GID", s) or "UID_GID=10001" not in s:
        problem(rel(script), "the image gets no numeric non-root USER")
    if not re.search(r"HEALTHCHECK .*\"/ragd\", \"probe\"", s):
        problem(rel(script), "the image gets no HEALTHCHECK through `ragd probe`")
    print(f"Dockerfile: {len(stages)} stages, final USER {users[-1] if users else None}")


# --- nginx, running ----------------------------------------------------------
def check_nginx_run(nginx, workdir):
    """Run compose/nginx.conf (upstream on a local test server, `resolve`
    dropped) on 127.0.0.1 and check what it does: proxies the API, keeps
    /metrics and /status inside, refuses a 21st connection from one address
    with 429, keeps connections to the upstream alive."""
    import http.server
    import socket
    import subprocess
    import threading
    import time
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    peers = set()

    class Upstream(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            peers.add(self.client_address[1])
            if self.path.startswith("/slow"):
                time.sleep(2)
            body = b"upstream " + self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    port = free_port()
    src = open(os.path.join(ROOT, "compose", "nginx.conf")).read()
    conf = (src.replace("server ragd:8080 resolve ", f"server 127.0.0.1:{up.server_port} ")
               .replace("listen 8080;", f"listen 127.0.0.1:{port};")
               .replace("/dev/stderr", os.path.join(workdir, "error.log"))
               .replace("/dev/stdout", os.path.join(workdir, "access.log")))
    os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
    path = os.path.join(workdir, "nginx.conf")
    open(path, "w").write(conf)
    base = [nginx, "-p", workdir, "-c", path, "-g", f"pid {workdir}/nginx.pid; daemon off;"]
    proc = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    where = "compose/nginx.conf (running)"

    def get(p, timeout=10):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{p}", timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    problem(where, f"nginx exited: {proc.stderr.read().decode()}")
                    return
                time.sleep(0.1)
        status, body = get("/lb-health")
        if status != 200:
            problem(where, f"/lb-health answered {status}")
        status, body = get("/v1/collections")
        if status != 200 or body != "upstream /v1/collections":
            problem(where, f"/v1/collections was not proxied: {status} {body[:80]!r}")
        for p in ("/metrics", "/status", "/status?full=1"):
            status, body = get(p)
            if status != 404 or "upstream" in body:
                problem(where, f"{p} reached the upstream or did not answer 404: {status}")
        # Keep-alive to the upstream: 20 sequential requests, few connections.
        peers.clear()
        for i in range(20):
            get(f"/v1/k{i}")
        kept = len(peers)
        if kept > 4:
            problem(where, f"20 requests used {kept} upstream connections: no keepalive")
        # limit_conn 20 per address: 30 slow requests at once, some get 429.
        with ThreadPoolExecutor(30) as pool:
            codes = list(pool.map(lambda i: get(f"/slow{i}", timeout=20)[0], range(30)))
        if codes.count(429) == 0 or codes.count(200) == 0:
            problem(where, f"30 concurrent requests from one address: {sorted(set(codes))} "
                           f"({codes.count(429)} × 429), expected some 200 and some 429")
        print(f"nginx: proxied, /metrics and /status kept inside, keepalive ({kept} upstream "
              f"connections for 20 requests), {codes.count(429)} of 30 concurrent requests refused with 429")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        up.shutdown()


# --- Kubernetes --------------------------------------------------------------
def check_k8s(rendered):
    kinds = {}
    for path in rendered:
        for doc in yaml.safe_load_all(open(path)):
            if doc:
                kinds.setdefault(doc["kind"], []).append((rel(path), doc))
    deps = [d for w, d in kinds.get("Deployment", []) if d["metadata"]["name"] == "ragd"]
    if not deps:
        problem("k8s", "no Deployment ragd rendered")
    for d in deps:
        c = d["spec"]["template"]["spec"]["containers"][0]
        where = "k8s Deployment ragd"
        if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/ready":
            problem(where, "readiness probe is not GET /ready")
        if (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/health":
            problem(where, "liveness probe is not GET /health")
        res = c.get("resources", {})
        for k in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(k, {}):
                    problem(where, f"no {k}.{r}")
        sc = d["spec"]["template"]["spec"].get("securityContext", {})
        if not sc.get("runAsNonRoot"):
            problem(where, "runAsNonRoot is not set")
    hpas = [d for w, d in kinds.get("HorizontalPodAutoscaler", [])]
    if not hpas:
        problem("k8s", "no HorizontalPodAutoscaler")
    for h in hpas:
        targets = {m["resource"]["name"]: m["resource"]["target"].get("averageUtilization")
                   for m in h["spec"].get("metrics", []) if m["type"] == "Resource"}
        if targets != {"cpu": 70, "memory": 80}:
            problem("k8s HPA ragd", f"targets {targets}, not cpu 70 % and memory 80 %")
        if not (h["spec"].get("minReplicas") and h["spec"]["maxReplicas"] > h["spec"]["minReplicas"]):
            problem("k8s HPA ragd", "min/max replicas not set")
    for kind in ("PodDisruptionBudget", "Service", "ConfigMap", "StatefulSet"):
        if kind not in kinds:
            problem("k8s", f"no {kind} rendered")
    jobs = [d for w, d in kinds.get("Job", [])]
    if not any(j["spec"].get("completionMode") == "Indexed" for j in jobs):
        problem("k8s", "no Indexed loadgen Job")
    for j in jobs:
        args = " ".join(j["spec"]["template"]["spec"]["containers"][0].get("args", []))
        if "$(JOB_COMPLETION_INDEX).json" not in args:
            problem("k8s Job loadgen", "reports are not one per pod (JOB_COMPLETION_INDEX)")
    # A ConfigMap never carries a secret.
    for w, cm in kinds.get("ConfigMap", []):
        for k, v in (cm.get("data") or {}).items():
            if re.search(r"(?i)password|://[^/]*:[^/]*@", f"{k}={v}") and "psql" not in v:
                problem(f"{w}: ConfigMap {cm['metadata']['name']}", f"{k} looks like a secret")
    print(f"k8s: {sum(len(v) for v in kinds.values())} objects checked")


def main():
    what, args = sys.argv[1], sys.argv[2:]
    {"compose": lambda: check_compose(args), "alerts": check_alerts,
     "nginx-run": lambda: check_nginx_run(*args),
     "dockerfile": check_dockerfile, "k8s": lambda: check_k8s(args)}[what]()
    for p in PROBLEMS:
        print("PROBLEM:", p)
    sys.exit(1 if PROBLEMS else 0)


if __name__ == "__main__":
    main()

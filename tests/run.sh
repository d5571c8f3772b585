#!/usr/bin/env bash
# The whole test suite, from a fresh machine.
#
# Installs what the tests need (only Debian packages and crates), then runs
# every test of the workspace. Safe to run again: installs are skipped when
# already present.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# --- system packages ---------------------------------------------------------
need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
# (No libssl-dev: nothing links OpenSSL; TLS is rustls.)
# loadgen's TLS test makes its self-signed certificate with the openssl CLI.
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

# --- PostgreSQL and Redis ----------------------------------------------------
# Private instances on loopback (see tests/services.sh): the scale-out tests
# and the second pass of the HTTP suite run on them.
log "starting PostgreSQL and Redis"
eval "$(bash tests/services.sh start)"
# Tests that need these servers fail instead of skipping.
export RAGKIT_REQUIRE_SERVICES=1

# --- dashboards ---------------------------------------------------------------
# Every metric name and label the dashboard and alert rules use is one ragd
# or loadgen registers (ragd's tests/telemetry.rs also checks them against a
# live ragd with --scrape).
command -v python3 >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq python3; }
log "checking the dashboards against the metric registrations"
python3 dashboards/check.py

# --- build and test ----------------------------------------------------------
# Two cores: one shared target dir, lean debug builds (see Cargo.toml).
export CARGO_TERM_COLOR=never
log "building (first build takes a while: the embedded vector engine is large)"
cargo build --workspace --tests
log "running tests (embedded defaults; scale-out tests on PostgreSQL + Redis)"
cargo test --workspace -- --test-threads=2
log "running the HTTP, access, interface, format and job suites again on PostgreSQL + Redis"
# (--workspace keeps the feature set of the build above: no rebuild)
RAGKIT_TEST_BACKENDS=postgres+redis cargo test --workspace --test http --test access --test interfaces --test formats --test jobs -- --test-threads=2
log "checking the deployment files (compose, nginx, alert rules, images, Kubernetes)"
# Offline: installs promtool, nginx-light, a venv with kubernetes-validate;
# builds an image from the debug ragd above and runs it on 127.0.0.1.
bash tests/deploy-check.sh
log "running the OpenTelemetry export test (ragd built with --features otel)"
# (--workspace again: `-p ragd` alone would resolve reqwest and rustls
# without loadgen's and the tests' TLS features and rebuild the Qdrant crates)
cargo test --workspace --features ragd/otel --test otel
log "fuzzing the HTTP API from its OpenAPI document (schemathesis, bounded)"
cargo build -q --workspace --bins  # same feature set as above: no rebuild
bash tests/fuzz/api.sh 25 240
log "driving the OpenAI-compatible routes with OpenAI's Python client"
bash tests/openai/client.sh

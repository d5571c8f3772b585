#!/usr/bin/env bash
# What `ragctl top` costs the machine it runs on, against `docker stats`
# watching the same containers (docs/BENCHMARKS.md, "ragctl top's own
# cost", issue 14).
#
#   bash tests/bench/top-cost.sh [CONTAINERS=12] [SECONDS=30] [ROUNDS=3]
#
# Starts CONTAINERS idle ragd containers from the release binary (an image
# made by compose/build-image.sh, nothing pulled), labelled as compose
# labels the replicas of service `ragd` in a project of their own, each
# publishing 8080 on 127.0.0.1 only. Then ROUNDS times, one after the
# other: `ragctl -p PROJECT top --refresh 1` and `docker stats NAME...`
# (its default live mode, on the same CONTAINERS by name, so that other
# containers on a shared engine do not weigh on one side only), each in a
# tmux pane of 200x50, each for SECONDS after a
# WARMUP (3 s) that is not counted. What is counted is the client's own CPU
# time, utime + stime of /proc/PID/stat (every thread of the process, also
# those that ended; not dockerd, not tmux), as % of one core over the
# measured wall time. Printed: each round's two figures and their ratio,
# then the medians.
#
# Environment: RAGCTL (default target/release/ragctl) and RAGD (default
# target/release/ragd) pick the binaries, so an older ragctl can be
# measured against a newer one on the same containers; TOP_ARGS adds flags
# to `top`; WARMUP changes the uncounted start. The script does not compile:
#   cargo build --release --workspace --bin ragd --bin ragctl
# Everything it starts (containers, network, image, tmux sessions) is
# removed on exit, also on Ctrl-C or failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
N=${1:-12}
SECS=${2:-30}
ROUNDS=${3:-3}
WARMUP=${WARMUP:-3}
RAGCTL=${RAGCTL:-target/release/ragctl}
RAGD=${RAGD:-target/release/ragd}
TOP_ARGS=${TOP_ARGS:-}
for b in "$RAGCTL" "$RAGD"; do
  [ -x "$b" ] || { echo "top-cost: $b missing: cargo build --release --workspace --bin ragd --bin ragctl" >&2; exit 2; }
done
command -v tmux >/dev/null || { echo "top-cost: needs tmux" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "top-cost: the Docker engine does not answer" >&2; exit 2; }

P=topcost$$
NET=${P}_default
IMAGE=ragd-topcost:$P
SESSION=$P
TICK=$(getconf CLK_TCK)

cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  local ids
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$P" 2>/dev/null || true)
  [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_machine
echo "docker: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), cgroup v$(docker info --format '{{.CgroupVersion}}'); client: docker $(docker version --format '{{.Client.Version}}')"
echo "ragctl: $RAGCTL ($(stat -c %y "$RAGCTL" | cut -d. -f1)), $N containers, ${SECS} s per run after ${WARMUP} s, $ROUNDS rounds"

bash compose/build-image.sh "$RAGD" "$IMAGE" >/dev/null
docker network create "$NET" >/dev/null
for i in $(seq 1 "$N"); do
  docker run -d --name "$P-ragd-$i" --network "$NET" --network-alias ragd \
    -l com.docker.compose.project="$P" -l com.docker.compose.service=ragd \
    -l com.docker.compose.container-number="$i" -l com.docker.compose.oneoff=False \
    -e RAGD_AUTH__ALLOW_UNAUTHENTICATED=true -e RUST_LOG=warn \
    -p 127.0.0.1::8080 "$IMAGE" >/dev/null
done
for i in $(seq 1 "$N"); do
  port=$(docker port "$P-ragd-$i" 8080/tcp | head -1 | sed 's/.*://')
  ok=
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null && { ok=1; break; }
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "top-cost: $P-ragd-$i not ready in 60 s" >&2; docker logs "$P-ragd-$i" 2>&1 | tail -5 >&2; exit 1; }
done
NAMES=()
for i in $(seq 1 "$N"); do NAMES+=("$P-ragd-$i"); done
# Let the start-up settle (first healthchecks, page cache) before measuring.
sleep 5
echo "running containers on the engine: $(docker ps -q | wc -l) ($N of them ours)"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }

# measure NAME COMMAND...: run it in a 200x50 tmux pane; prints "% of a core"
measure() {
  local name=$1
  shift
  tmux new-session -d -s "$SESSION" -x 200 -y 50 "exec $*"
  local pid
  pid=$(tmux list-panes -t "$SESSION" -F '#{pane_pid}')
  sleep "$WARMUP"
  [ -d "/proc/$pid" ] || { echo "top-cost: $name exited early" >&2; exit 1; }
  local t0 w0 t1 w1
  t0=$(ticks "$pid"); w0=$(now)
  sleep "$SECS"
  t1=$(ticks "$pid"); w1=$(now)
  # What the pane shows at the end, as evidence that it watched the containers.
  local shown
  shown=$(tmux capture-pane -p -t "$SESSION" | grep -c "$P-ragd-" || true)
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  sleep 1
  echo "$name $(( t1 - t0 )) $(awk -v a="$w0" -v b="$w1" 'BEGIN{printf "%.3f", b - a}') $shown"
}

pct() { awk -v t="$1" -v w="$2" -v hz="$TICK" 'BEGIN{printf "%.3f", t / hz / w * 100}'; }
median() { sort -g | awk '{a[NR]=$1} END{if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

TOPS=(); STATS=(); RATIOS=()
printf '%-6s %-22s %-22s %s\n' round "ragctl top" "docker stats" "top / stats"
for r in $(seq 1 "$ROUNDS"); do
  read -r _ tt tw tshown < <(measure top env TERM=xterm-256color "$RAGCTL" -p "$P" top --refresh 1 $TOP_ARGS)
  read -r _ st sw sshown < <(measure stats env TERM=xterm-256color docker stats "${NAMES[@]}")
  tp=$(pct "$tt" "$tw"); sp=$(pct "$st" "$sw")
  ratio=$(awk -v a="$tp" -v b="$sp" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "inf"}')
  TOPS+=("$tp"); STATS+=("$sp"); RATIOS+=("$ratio")
  printf '%-6s %-22s %-22s %s\n' "$r" "$tp% ($tt ticks, $tshown rows)" "$sp% ($st ticks, $sshown rows)" "$ratio"
done
echo "median: ragctl top $(printf '%s\n' "${TOPS[@]}" | median)% of one core, docker stats $(printf '%s\n' "${STATS[@]}" | median)%, ratio $(printf '%s\n' "${RATIOS[@]}" | median)"

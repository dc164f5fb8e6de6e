#!/usr/bin/env bash
# Secure multi-party computation on Colonies (what `make demo` runs).
#
# Two hospitals encrypt their secret patient data (5 and 55) with a Paillier public key, a cloud adds the two
# ciphertexts without being able to read them, and only the owner of the private key decrypts the sum (60).
#
# Every step prints the command it runs after a "$", so you can do the same by hand: see README.md in this folder
# (there, each long-running command gets a terminal of its own). Needs `colonies` and a python3 with `phe` on the
# PATH: `make demo` puts .venv/bin first.
#
# Environment: COLONIES_SERVER_PORT (default 50080; if that port is busy a free one is used instead),
# DEMO_TIMEOUT (seconds the workflow may take, default 120), DEMO_KEEP=1 (keep the server running at the end, to
# look at the workflow in the dashboard, until Ctrl-C).
set -euo pipefail

cd "$(dirname "$0")"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/colonies-smpc.XXXXXX")  # the server's database and everyone's log files
PIDS=()                                                     # what this script started, in order

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# Stop one process we started. SIGTERM lets an executor finish what it is running; a second SIGTERM 5 s later makes
# it give that up (it still removes itself from the colony); SIGKILL only if it is still there 5 s after that.
stop() {
  local pid=$1 signal
  for signal in TERM TERM KILL; do
    kill -"$signal" "$pid" 2>/dev/null || break
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break 2
      sleep 0.1
    done
  done
  wait "$pid" 2>/dev/null || true
}

# On any exit (success, failure, Ctrl-C): stop the executors first, while the server can still hear them remove
# themselves, then the server; keep the logs if something went wrong.
cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  set +e
  if [ ${#PIDS[@]} -gt 0 ]; then
    step "Stopping everything this script started"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$WORK"
  else
    for log in "$WORK"/*.log; do
      [ -s "$log" ] && { printf '\n--- last lines of %s\n' "$log"; tail -n 20 "$log"; }
    done
    printf '\ndemo failed (exit %s); logs kept in %s\n' "$status" "$WORK" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() {
  python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

command -v colonies >/dev/null || fail "no 'colonies' command on the PATH (run 'make install', then use .venv/bin)"
python3 -c 'import phe' 2>/dev/null || fail "python3 cannot import phe (pip install phe, or use .venv/bin/python3)"

# A clean start: only the settings that `colonies dev` prints below count, not what this shell had before.
PORT=${COLONIES_SERVER_PORT:-50080}
for name in $(compgen -e | grep '^COLONIES_' || true); do unset "$name"; done

step "1. Start a development server and take its settings"
if ! port_is_free "$PORT"; then
  busy=$PORT
  PORT=$(free_port)
  echo "Port $busy is busy, using port $PORT instead."
fi
show "COLONIES_SERVER_PORT=$PORT colonies dev &"
COLONIES_SERVER_PORT=$PORT colonies dev --data-dir "$WORK" >"$WORK/dev.out" 2>"$WORK/server.log" &
PIDS+=($!)
for _ in $(seq 100); do
  grep -q '^export COLONIES_PRVKEY=' "$WORK/dev.out" && break
  kill -0 "${PIDS[0]}" 2>/dev/null || fail "colonies dev exited"
  sleep 0.1
done
grep -q '^export COLONIES_PRVKEY=' "$WORK/dev.out" || fail "colonies dev printed no settings"
show 'eval "$(the export lines that colonies dev printed)"'
grep '^export ' "$WORK/dev.out"
eval "$(grep '^export ' "$WORK/dev.out")"
for _ in $(seq 100); do
  colonies server alive >/dev/null 2>&1 && break
  kill -0 "${PIDS[0]}" 2>/dev/null || fail "colonies dev exited"
  sleep 0.1
done
colonies server alive

step "2. Make a Paillier key pair; the public key goes into every node of the workflow"
# The key pair and the workflow go to the demo's temporary directory, not into the example's folder.
show "python3 generate_keys.py --private-key \$WORK/private_key.json --workflow \$WORK/workflow.json"
python3 generate_keys.py --private-key "$WORK/private_key.json" --workflow "$WORK/workflow.json"

step "3. Start the executors: two hospitals with their secrets, and the cloud"
show "python3 hospital_executor.py r2-hospital_executor 5 &"
python3 hospital_executor.py r2-hospital_executor 5 >"$WORK/r2-hospital.log" 2>&1 &
PIDS+=($!)
show "python3 hospital_executor.py r1-hospital_executor 55 &"
python3 hospital_executor.py r1-hospital_executor 55 >"$WORK/r1-hospital.log" 2>&1 &
PIDS+=($!)
show "python3 cloud_executor.py &"
python3 cloud_executor.py >"$WORK/cloud.log" 2>&1 &
PIDS+=($!)

registered() {  # how many of the three executor types have registered themselves (and are approved)
  colonies executor ls --json | python3 -c 'import json, sys
types = {e["executortype"] for e in json.load(sys.stdin) if e.get("state") == 1}
print(len(types & {"r1-hospital_executor", "r2-hospital_executor", "cloud-hospital-executor"}))'
}
for _ in $(seq 150); do
  [ "$(registered)" = 3 ] && break
  for pid in "${PIDS[@]:1}"; do kill -0 "$pid" 2>/dev/null || fail "an executor exited (see its log below)"; done
  sleep 0.2
done
[ "$(registered)" = 3 ] || fail "the executors did not register within 30 s"
show "colonies executor ls"
colonies executor ls

step "4. Submit the workflow and wait for it (--json so that this script can read the process ids)"
TIMEOUT=${DEMO_TIMEOUT:-120}
show "colonies workflow submit --spec \$WORK/workflow.json --wait --timeout $TIMEOUT --json > \$WORK/workflow-result.json"
colonies workflow submit --spec "$WORK/workflow.json" --wait --timeout "$TIMEOUT" --json >"$WORK/workflow-result.json"
# One line per node. Each output is a ciphertext (base64 of {"ciphertext": "<decimal>", "exponent": 0}): shortened.
python3 -c 'import base64, json, sys
for p in json.load(open(sys.argv[1]))["processes"]:
    node, pid, state = p["spec"]["nodename"], p["processid"], "successful" if p["state"] == 2 else p["state"]
    digits = [json.loads(base64.b64decode(o))["ciphertext"] for o in p["out"]]
    out = ", ".join(f"{d[:12]}…({len(d)} digits)" for d in digits)
    print(f"  {node:<22} {pid[:16]}…  {state}  out: {out}")' "$WORK/workflow-result.json"

# The last process of the workflow is the cloud's sum.
CLOUD_PROCESS_ID=$(python3 -c 'import json, sys
print(next(p["processid"] for p in json.load(open(sys.argv[1]))["processes"]
           if p["spec"]["nodename"] == "cloud:sum_patent_data"))' "$WORK/workflow-result.json")

step "5. Decrypt the cloud's result with the private key, which never left this machine"
show "python3 decrypt.py --private-key \$WORK/private_key.json $CLOUD_PROCESS_ID"
python3 decrypt.py --private-key "$WORK/private_key.json" "$CLOUD_PROCESS_ID"

if [ -n "${DEMO_KEEP:-}" ]; then
  step "6. The workflow in the dashboard (Ctrl-C stops everything)"
  echo "Open http://127.0.0.1:$PORT/ and sign in with colony $COLONIES_COLONY_NAME and the private key in"
  echo "COLONIES_PRVKEY above (or in $WORK/dev-keys.json); Workflows lists the one that just ran."
  trap 'exit 0' INT TERM  # here Ctrl-C is how the demo ends, not a failure
  while kill -0 "${PIDS[0]}" 2>/dev/null; do sleep 1; done
fi

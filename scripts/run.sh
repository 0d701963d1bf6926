#!/usr/bin/env bash
# Starts the local mail catcher, the delivery worker and the web app; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${COMMSPLAN_RUN_HOST:-127.0.0.1}
PORT=${COMMSPLAN_RUN_PORT:-5000}
MAIL_HTTP_PORT=${COMMSPLAN_MAILDUMP_HTTP_PORT:-1080}
export COMMSPLAN_MAIL_SERVER=${COMMSPLAN_MAIL_SERVER:-127.0.0.1}
export COMMSPLAN_MAIL_PORT=${COMMSPLAN_MAIL_PORT:-1025}
export COMMSPLAN_BASE_URL=${COMMSPLAN_BASE_URL:-http://$HOST:$PORT}

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

$BIN/maildump --foreground --smtp-ip 127.0.0.1 --smtp-port "$COMMSPLAN_MAIL_PORT" \
  --http-ip 127.0.0.1 --http-port "$MAIL_HTTP_PORT" --db instance/maildump.sqlite &
pids+=($!)

if $BIN/flask --app wsgi commsplan --help 2>/dev/null | grep -q '^  worker'; then
  $BIN/flask --app wsgi commsplan worker &
  pids+=($!)
  worker_note="running"
else
  worker_note="not part of this version"
fi

$BIN/flask --app wsgi commsplan demo-admin

cat <<INFO

  commsplan is starting
  ---------------------
  Web app:        $COMMSPLAN_BASE_URL
  Sent mail:      http://127.0.0.1:$MAIL_HTTP_PORT  (maildump catches every mail; nothing leaves this machine)
  Delivery worker: $worker_note
  Stop with Ctrl-C.

INFO

$BIN/flask --app wsgi run --host "$HOST" --port "$PORT" &
pids+=($!)
wait -n "${pids[@]}"

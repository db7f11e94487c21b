#!/usr/bin/env bash
# lamina-train refuses bad flags with exit status 2 and a message naming the
# flag and what it expects (checked before any data is read).
# usage: train_cli.sh LAMINA_TRAIN
set -uo pipefail
train="$1"
fail=0
expect() {  # expect "MESSAGE PART" ARGS...
  local want="$1"; shift
  local err status
  err="$("$train" "$@" 2>&1 >/dev/null)"; status=$?
  if [[ $status -ne 2 || "$err" != *"$want"* ]]; then
    echo "FAIL: lamina-train $* -> status $status, stderr: $err (wanted status 2 and '$want')"
    fail=1
  else
    echo "ok: lamina-train $* -> $err"
  fi
}
expect "--dropout expects a rate in [0, 1), got '1.5'" --dropout 1.5
expect "--dropout expects a rate in [0, 1), got 'x'" --dropout x
expect "--learning-rate expects a number in (0, 10), got '-1'" --learning-rate -1
expect "--epochs expects an integer" --epochs 0
expect "unknown --model 'rnn'; available: mlp, cnn, cnn_bn" --model rnn
expect "unknown option --nope" --nope 1
expect "missing value for --seed" --seed
expect "data directory '/nonexistent' does not exist" --data /nonexistent
exit $fail

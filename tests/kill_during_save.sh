#!/usr/bin/env bash
# kill -9 during repeated saves never leaves an unreadable file (issue 7).
# usage: kill_during_save.sh HELPER [ROUNDS]
# HELPER is tests/kill_save_helper: `save PATH [N]` saves in a loop,
# `check PATH` loads the file and checks it holds one of the saved states.
set -u
helper=$1
rounds=${2:-40}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=$dir/model.lamina

"$helper" save "$file" 1 || { echo "initial save failed"; exit 1; }
for ((i = 1; i <= rounds; i++)); do
  "$helper" save "$file" &
  pid=$!
  # A random moment: 0-199 ms after start (model build, then saves of ~1 MB).
  sleep "0.$(printf '%03d' $((RANDOM % 200)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if ! "$helper" check "$file"; then
    echo "round $i: $file is unreadable after kill -9"
    exit 1
  fi
done
# Temporary files of killed writers may remain; the target never is torn.
echo "kill_during_save: $rounds rounds OK ($(ls "$dir" | wc -l) files in the directory)"

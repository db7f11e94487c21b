#!/usr/bin/env bash
# Exact reload and resume across processes (issue 7). Each step runs in a new
# process of tests/resume_helper (a small MLP with Dropout and Adam), so
# nothing but the file carries the state:
#  (a) process 1 trains N epochs, saves, and writes its predictions right
#      after saving; process 2 loads the file: same predictions, bit for bit;
#  (b) process 1 trains N epochs and saves; process 2 resumes from the file's
#      training position for M more epochs; process 3 trains N+M epochs in one
#      fit call: same weights hash;
#  (c) as (b) from a mid-epoch checkpoint of ModelCheckpoint(save_freq=K),
#      written by a process that exits abruptly a few batches later.
# usage: resume_across_processes.sh HELPER
set -u
helper=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "resume_across_processes: $*"; exit 1; }
N=2 M=3  # epochs; 5 batches per epoch

# (a)
"$helper" train-save "$dir/a.lamina" "$N" "$dir/a.pred1" || fail "(a) train-save failed"
"$helper" load-predict "$dir/a.lamina" "$dir/a.pred2" || fail "(a) load-predict failed"
[ -s "$dir/a.pred1" ] || fail "(a) no predictions written"
cmp "$dir/a.pred1" "$dir/a.pred2" || fail "(a) predictions of the reloaded model differ"

# (b)
straight=$("$helper" straight $((N + M))) || fail "(b) straight run failed"
resumed=$("$helper" resume "$dir/a.lamina" $((N + M)) 2>"$dir/b.err") || fail "(b) resume failed: $(cat "$dir/b.err")"
grep -q "resuming at epoch $N, step 0, shuffle seed 77" "$dir/b.err" || fail "(b) unexpected position: $(cat "$dir/b.err")"
[ "$resumed" = "$straight" ] || fail "(b) resumed hash $resumed != uninterrupted $straight"

# (c) checkpoints every 3 batches (global batches 3, 6, 9, ...); the process
# dies after batch 8, so the last checkpoint is epoch 1, step 1 (batch 6).
"$helper" crash "$dir/c.lamina" $((N + M)) 3 8
status=$?
[ "$status" = 3 ] || fail "(c) the crashing run exited with $status, expected 3"
resumed=$("$helper" resume "$dir/c.lamina" $((N + M)) 2>"$dir/c.err") || fail "(c) resume failed: $(cat "$dir/c.err")"
grep -q "resuming at epoch 1, step 1, shuffle seed 77" "$dir/c.err" || fail "(c) unexpected position: $(cat "$dir/c.err")"
[ "$resumed" = "$straight" ] || fail "(c) resumed hash $resumed != uninterrupted $straight"

echo "resume_across_processes: OK (weights hash $straight)"

#!/usr/bin/env bash
# lamina-train with a fixed seed gives bitwise-identical weights with 1 and 2
# threads, and in two runs with the same thread count (compared with
# lamina-inspect --hash). Skips (exit 77) when the Fashion-MNIST files are not
# installed.
# usage: determinism.sh LAMINA_TRAIN LAMINA_INSPECT [MODEL]
set -euo pipefail
train="$1" inspect="$2" model="${3:-mlp}"
data=/usr/share/datasets/fashion-mnist
[[ -d "$data" ]] || { echo "no $data: skipped"; exit 77; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
run() {  # run NAME THREADS
  LAMINA_NUM_THREADS=$2 "$train" --model "$model" --epochs 1 --seed 1 --quiet --save "$dir/$1.lamina" | tail -n 1
  "$inspect" "$dir/$1.lamina" --hash
}
h1="$(run t1 1 | tail -n 1)"
h2="$(run t2 2 | tail -n 1)"
h2b="$(run t2b 2 | tail -n 1)"
echo "$model: hash with 1 thread: $h1; with 2 threads: $h2; again with 2 threads: $h2b"
[[ -n "$h1" && "$h1" == "$h2" && "$h2" == "$h2b" ]]

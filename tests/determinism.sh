#!/usr/bin/env bash
# lamina-train with a fixed seed gives bitwise-identical weights with 1 and 2
# threads (compared with lamina-inspect --hash). Skips (exit 77) when the
# Fashion-MNIST files are not installed.
# usage: determinism.sh LAMINA_TRAIN LAMINA_INSPECT [MODEL]
set -euo pipefail
train="$1" inspect="$2" model="${3:-mlp}"
data=/usr/share/datasets/fashion-mnist
[[ -d "$data" ]] || { echo "no $data: skipped"; exit 77; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for t in 1 2; do
  LAMINA_NUM_THREADS=$t "$train" --model "$model" --epochs 1 --seed 1 --quiet --save "$dir/t$t.lamina" | tail -n 1
done
h1="$("$inspect" "$dir/t1.lamina" --hash)"
h2="$("$inspect" "$dir/t2.lamina" --hash)"
echo "hash with 1 thread: $h1, with 2 threads: $h2"
[[ "$h1" == "$h2" ]]

#!/usr/bin/env bash
# Runs `sim sweep` (or `sim plan`) as a Slurm job array, one shard per array task, then merges the shards in a
# job that starts only when every task succeeded (afterok). Results go to a directory every node can see.
#
#   tools/cluster/slurm-sweep.sh SHARDS OUT_DIR sweep scenarios/pipeline-bubbles.yaml [--set k=v ...]
#   tools/cluster/slurm-sweep.sh SHARDS OUT_DIR plan  scenarios/design-review-tp.yaml --gpus 4
#
# Environment: SIM (default `dotnet /opt/sim/sim.dll`: the published CLI), SBATCH_ARGS (extra sbatch flags,
# e.g. "--partition=cpu --time=01:00:00"), JOBS (cores per shard, default 4).
set -euo pipefail

if [[ $# -lt 4 ]]; then
  echo "usage: $0 SHARDS OUT_DIR sweep|plan SCENARIO [sim flags...]" >&2
  exit 2
fi
shards="$1"; out="$2"; verb="$3"; shift 3
if ! [[ "$shards" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: SHARDS '$shards': expected a positive integer" >&2
  exit 2
fi
if [[ "$verb" != sweep && "$verb" != plan ]]; then
  echo "error: verb '$verb': expected sweep or plan" >&2
  exit 2
fi
sim="${SIM:-dotnet /opt/sim/sim.dll}"
jobs="${JOBS:-4}"
mkdir -p "$out/logs"

# One array task per shard: task I runs shard I/N into OUT_DIR/shard-I.
array_id=$(sbatch --parsable ${SBATCH_ARGS:-} \
  --job-name="sim-$verb" --array="0-$((shards - 1))" --cpus-per-task="$jobs" \
  --output="$out/logs/shard-%a.out" \
  --wrap="$sim $verb $(printf '%q ' "$@")--jobs $jobs --shard \${SLURM_ARRAY_TASK_ID}/$shards --out $out/shard-\${SLURM_ARRAY_TASK_ID}")

# The merge waits for every task of the array (afterok: none failed).
shard_dirs=""
for ((i = 0; i < shards; i++)); do shard_dirs+=" $out/shard-$i"; done
merge_id=$(sbatch --parsable ${SBATCH_ARGS:-} \
  --job-name="sim-merge" --dependency="afterok:${array_id}" \
  --output="$out/logs/merge.out" \
  --wrap="$sim merge$shard_dirs --out $out/merged")

echo "submitted array job $array_id ($shards shards) and merge job $merge_id; merged results: $out/merged"

#!/usr/bin/env bash
# The command run on a lent GPU machine (JAX with CUDA, scikit-learn; no TensorFlow or Keras) to run
# benchmarks/anomaly.py: `run` it from the repository root with these ignored folders carried:
#   .whl/         keras, namex and optree wheels for Python 3.12
#   .gpu/data/    the four Fashion-MNIST IDX files (the images xz-compressed)
# exported/ does not travel (over the tree's size limit): move it aside for the call.
# Runs PARTS processes at once (the GPU is far from full with these small networks), each on its share
# of the classes, for at most RUN_S seconds; each resumes from the runs already recorded in
# benchmarks/results/anomaly_runs.jsonl and appends what it finishes to $OUT/part<k>/anomaly_runs.jsonl.
# Back here: `cat <files_at>/part*/anomaly_runs.jsonl >> benchmarks/results/anomaly_runs.jsonl`, then
# `python benchmarks/anomaly.py --dry-run --backend jax` rewrites the report.
cd "$(dirname "$0")/../.."
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 GANZOO_DATA=/tmp/data GANZOO_DATA_ONLY=1
export JAX_COMPILATION_CACHE_DIR=/tmp/jax-cache XLA_PYTHON_CLIENT_PREALLOCATE=false
mkdir -p /tmp/data && cp .gpu/data/* /tmp/data/ && xz -d /tmp/data/*.xz
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
PARTS=${PARTS:-5}
CLASSES=(0,5 1,6 2,7 3,8 4,9)
for k in $(seq 0 $((PARTS - 1))); do
  mkdir -p "$OUT/part$k"
  [ -f benchmarks/results/anomaly_runs.jsonl ] && cp benchmarks/results/anomaly_runs.jsonl "$OUT/part$k/"
  KERAS_BACKEND=jax timeout "${RUN_S:-480}" python3 benchmarks/anomaly.py --backend jax --seeds "${SEEDS:-3}" \
    --classes "${CLASSES[$k]}" --out "$OUT/part$k" > "$OUT/part$k/log.txt" 2>&1 &
done
wait
for k in $(seq 0 $((PARTS - 1))); do  # keep only the lines this call added
  if [ -f benchmarks/results/anomaly_runs.jsonl ]; then
    tail -n +"$(( $(wc -l < benchmarks/results/anomaly_runs.jsonl) + 1 ))" "$OUT/part$k/anomaly_runs.jsonl" > "$OUT/part$k/new.jsonl"
    mv "$OUT/part$k/new.jsonl" "$OUT/part$k/anomaly_runs.jsonl"
  fi
  tail -3 "$OUT/part$k/log.txt"
done
echo "done after $(( $(date +%s) - T0 )) s"

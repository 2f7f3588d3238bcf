#!/usr/bin/env bash
# The command run on a lent GPU machine (JAX and torch with CUDA, no TensorFlow or Keras) to train a
# run further: `run` it from the repository root with these ignored folders carried:
#   .whl/         keras, namex and optree wheels for Python 3.12 (the machine has the rest of ganzoo's needs)
#   .gpu/data/    the four Fashion-MNIST IDX files (the images xz-compressed, to fit the 64 MiB tree)
#   .gpu/run/     a run directory (preset_to_run.py), its checkpoint xz-compressed
# exported/ does not travel (over the tree's size limit): move it aside for the call.
# Trains CONFIG on the JAX backend (torch if JAX fails to start) for TRAIN_S seconds, then returns
# the newest checkpoint as 15 MiB pieces ($OUT/run.tar.*: `cat run.tar.* | tar -x` here).
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-stylegan2_fashion_mnist}
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 GANZOO_DATA=/tmp/data GANZOO_DATA_ONLY=1
mkdir -p /tmp/data /tmp/run && cp .gpu/data/* /tmp/data/ && xz -d /tmp/data/*.xz
cp -r .gpu/run/. /tmp/run/ && xz -d /tmp/run/checkpoints/*.xz
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
BACKEND=jax
KERAS_BACKEND=jax python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" \
  || BACKEND=torch
echo "backend $BACKEND, setup $(( $(date +%s) - T0 )) s"
KERAS_BACKEND=$BACKEND timeout "${TRAIN_S:-420}" python3 -c "import sys; from ganzoo import cli; sys.exit(cli.main(sys.argv[1:]))" \
  train "$CONFIG" --out /tmp/run --resume --epochs "${EPOCHS:-300}" --quiet --backend $BACKEND > "$OUT/train.log" 2>&1
echo "train rc $? after $(( $(date +%s) - T0 )) s"
newest=$(ls /tmp/run/checkpoints/*.json | sort | tail -1); stem=$(basename "${newest%.json}")
tar -C /tmp/run -cf - "checkpoints/$stem.json" "checkpoints/$stem.keras" history.json | split -b 15M - "$OUT/run.tar."
last=$(ls /tmp/run/samples | sort | tail -1); cp "/tmp/run/samples/$last" "$OUT/last_$last"
ls -la "$OUT"; echo "done after $(( $(date +%s) - T0 )) s"

# ganzoo: the two commands are `make demo` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ganzoo-installed
BACKENDS := tensorflow jax torch
FASHION_MNIST := /usr/share/datasets/fashion-mnist

.PHONY: setup data demo test bench clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[cpu,test]"
	touch $(STAMP)

# Fashion-MNIST from Debian's package where apt and root are available. Without it two tests
# skip with a reason and the two that score the shipped Fashion-MNIST presets fail (README).
data:
	@if [ ! -d $(FASHION_MNIST) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
		|| echo "warning: could not install dataset-fashion-mnist; Fashion-MNIST tests will be skipped"; \
	fi

demo: setup
	$(BIN)/ganzoo train dcgan_digits --out runs/demo --force --backend tensorflow
	$(BIN)/ganzoo sample runs/demo --n 64 --seed 0 --out runs/demo/samples.png
	$(BIN)/ganzoo export runs/demo --out runs/demo/export --force --backend tensorflow
	@echo "demo: samples in runs/demo/samples.png, generator in runs/demo/generator.keras," \
		"SavedModel and TFLite files in runs/demo/export/"

# The three backends' passes run at once: each is mostly one busy thread (compiling, Python),
# so on 2 cores together they take about half the time of one after another. Each pass writes
# its own log and pytest folder; the logs are printed in order when all are done.
test: setup data
	@logs=$$(mktemp -d); \
	echo "pytest on $(BACKENDS) at once (logs in $$logs, printed when all are done)"; \
	for backend in $(BACKENDS); do \
		(KERAS_BACKEND=$$backend $(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 \
			--basetemp=$$logs/pytest-$$backend tests > $$logs/$$backend.log 2>&1; \
		 echo $$? > $$logs/$$backend.status) & \
	done; \
	wait; status=0; \
	for backend in $(BACKENDS); do \
		echo "=== pytest on the $$backend backend ==="; cat $$logs/$$backend.log; \
		[ "$$(cat $$logs/$$backend.status)" = 0 ] || status=1; \
	done; \
	[ $$status = 0 ] && rm -rf $$logs; exit $$status

# Long measurements, never run by CI. The sweep script (benchmarks/mode_collapse_sweep.py)
# is an exploration tool and is not part of `make bench`.
# rescore_entries.py re-scores every shipped entry (10 000 samples, both judges) and only prints
# the changes; `python benchmarks/rescore_entries.py --write` rewrites the entries.
# Each quoted item is one command; the mode-collapse runs on record were measured on JAX.
BENCHMARKS := "benchmarks/mode_collapse.py --backend jax" "benchmarks/mode_collapse.py --backend jax --equal-budget" \
	"benchmarks/mode_collapse.py --backend jax --remedy-budget" \
	benchmarks/inference_latency.py benchmarks/augmentation.py benchmarks/train_step.py benchmarks/judges.py \
	benchmarks/rescore_entries.py benchmarks/image_to_image.py benchmarks/scaling.py benchmarks/anomaly.py

bench: setup data
	@for command in $(BENCHMARKS); do $(BIN)/python $$command || exit 1; done

clean:
	rm -rf $(VENV) runs *.egg-info

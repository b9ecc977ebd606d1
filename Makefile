# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint test-cpu test-sim test-ptx test-install bench clean clean-cache gpu-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench,dist]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/corpus analyze seeds/

# Three pytest processes: the CUDA simulator must be switched on before numba is
# imported, and PTX compilation does not work under the simulator.
test: lint test-cpu test-sim test-ptx

# ruff, configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check .

test-cpu: $(STAMP)
	$(BIN)/python -m pytest -q tests

test-sim: $(STAMP)
	NUMBA_ENABLE_CUDASIM=1 $(BIN)/python -W ignore::RuntimeWarning -m pytest -q tests/sim

test-ptx: $(STAMP)
	$(BIN)/python -m pytest -q tests/ptx

# A wheel in a fresh venv, run from a temporary folder (CI runs it after `make test`):
# the suite above imports the checkout, so only this sees a packaging mistake.
test-install:
	bash .ci/test-install $(PYTHON)

# On a machine with an NVIDIA GPU: its own venv (.venv-gpu) with .[gpu,dev], tests/gpu, then the
# three jobs on seeds/ and a generated 200 MB corpus, --device cpu vs gpu, byte for byte;
# results in $(OUT) (default ./gpu-check). Refuses in one line where there is no GPU.
gpu-check:
	bash .ci/gpu-check

bench: $(STAMP)
	$(BIN)/python -m bench.run --quick

# numba's cache=True keys a kernel on its own file only: after editing a shared core
# (kernels/hashing.py, kernels/text_core.py, ...) drop the compiled caches.
clean-cache:
	find engine kernels -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-cache
	rm -rf $(VENV) build *.egg-info

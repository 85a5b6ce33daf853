# lrcourse: `make lab` to learn, `make test` to check everything. Both build .venv first.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.lrcourse-installed
# pip on some machines lists local mirrors that are absent; their warnings are noise.
PIP_QUIET := grep -v "is ignored: it is neither a file nor a directory" || true
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Notebooks draw with the inline backend; an inherited MPLBACKEND=Agg would silence every figure.
unexport MPLBACKEND
NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=300 --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup lab test lint format unit notebooks execute bench lock clean portability experiments \
        release grade

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): requirements-lock.txt pyproject.toml lrcourse/course/lab_overrides.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-lock.txt 2>&1 | $(PIP_QUIET)
	$(PY) -m pip install --quiet --no-deps -e . 2>&1 | $(PIP_QUIET)
	$(PY) -m pip check
	$(PY) -m ipykernel install --sys-prefix --name lrcourse --display-name "Python 3 (lrcourse)" > /dev/null
	# No "Jupyter news?" pop-up and no update check in the course's JupyterLab.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp lrcourse/course/lab_overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

setup: $(STAMP)  ## build .venv: pinned CPU torch, the course packages, lrcourse editable, a kernel

lab: $(STAMP)  ## open JupyterLab at the first notebook (127.0.0.1)
	$(BIN)/jupyter lab --ip=127.0.0.1 $(ROOT_FLAG) notebooks/00_start_here.ipynb

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## ruff: fix what it can and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: $(STAMP)  ## the unit tests only
	$(PY) -m pytest -q tests

notebooks: $(STAMP)  ## re-run every notebook under nbval strict mode
	$(PY) -m pytest -q $(NBVAL) notebooks

execute: $(STAMP)  ## re-run notebooks in place, top to bottom (NB=notebooks/03_*.ipynb for one)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.kernel_name=lrcourse --ExecutePreprocessor.timeout=600 \
	  --ExecutePreprocessor.record_timing=False \
	  $(or $(NB),notebooks/[0-9][0-9]_*.ipynb)

test: lint $(STAMP)  ## ruff, the unit tests, and nbval strict over every notebook
	$(PY) -m pytest -q tests notebooks $(NBVAL)

experiments: $(STAMP)  ## run the slow experiments, rewrite their committed data (EXP=name for one)
	$(PY) -m lrcourse experiments $(EXP)

bench: $(STAMP)  ## time the schedules, the trainer, and the grader (serial and parallel)
	$(PY) -m lrcourse bench

release: $(STAMP)  ## make notebooks/exercises/ from notebooks/solutions/ (the masters)
	$(PY) -m lrcourse release

# make grade MASTER=notebooks/solutions/E1_five_schedules.ipynb SUBMISSIONS='submitted/*.ipynb'
# [OUT=gradebook.csv WORKERS=2 DASK=tcp://scheduler:8786]
OUT ?= gradebook.csv
grade: $(STAMP)  ## grade: MASTER=notebooks/solutions/E1_....ipynb SUBMISSIONS='dir/*.ipynb' [OUT= WORKERS= DASK=]
	@test -n "$(MASTER)" -a -n "$(SUBMISSIONS)" || { echo "usage: make grade MASTER=notebooks/solutions/E1_five_schedules.ipynb SUBMISSIONS='submitted/*.ipynb' [OUT=gradebook.csv WORKERS=2 DASK=tcp://host:8786]"; exit 2; }
	$(PY) -m lrcourse grade $(MASTER) $(SUBMISSIONS) --out $(OUT) \
	  $(if $(WORKERS),--workers $(WORKERS)) $(if $(DASK),--dask $(DASK))

lock:  ## re-resolve requirements-lock.txt from pyproject.toml (then update environment.yml)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test]' 2>&1 | $(PIP_QUIET)
	{ sed -n '1,2p' requirements-lock.txt; .lock-venv/bin/pip freeze --exclude-editable \
	  | sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; } > requirements-lock.txt.new
	mv requirements-lock.txt.new requirements-lock.txt && rm -rf .lock-venv

clean:  ## remove the environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

portability: $(STAMP)  ## nbval strict over every notebook with other CPUs' float kernels (NB=... for one)
	$(PY) tests/portability.py $(NB)

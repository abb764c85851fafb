# The two commands of README.md: `make run` and `make test`. Both install what they need.
.PHONY: setup run test lint bench bench-transcode clean

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/peercall serve --demo $(ARGS)

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy
	.venv/bin/python scripts/gen_client.py --check

test: lint
	bash scripts/in-testnet.sh .venv/bin/python -m pytest $(PYTEST_ARGS)

# make bench [BENCH=call_setup|reconnect|turn_test|signaling_load|...] [ARGS="--quick --json"]
bench: setup
	bash scripts/in-testnet.sh .venv/bin/python bench/$(or $(BENCH),call_setup).py $(ARGS)

# Recording post-processing (docs/recording.md); ARGS="--quick --json" for a 1-minute source.
bench-transcode: setup
	.venv/bin/pip install -q -e '.[bench]'
	.venv/bin/python bench/transcode.py $(ARGS)

clean:
	rm -rf .venv node_modules data .pytest_cache

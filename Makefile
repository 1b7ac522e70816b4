# The two commands of the README, plus the pieces they are made of.
.PHONY: setup demo test bench-fit

setup:
	@bash scripts/setup.sh

# Demo data, a training run on it, and the run synced into the store (the dashboard comes next).
demo: setup
	@test -f data/demo/training.csv || .venv/bin/artemis demo-data data/demo
	.venv/bin/artemis train data/demo --out runs
	.venv/bin/artemis sync --from runs

test: setup
	.venv/bin/python -m pytest

bench-fit: setup
	.venv/bin/python bench/fit.py

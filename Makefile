# The two commands of the README, plus the pieces they are made of.
.PHONY: setup serve demo test bench-fit bench-optimize bench-app bench-cv bench-hosting bench-pipeline

setup:
	@bash scripts/setup.sh

# The dashboard on http://localhost:5006/panel_serve (an empty store gets the bundled demo run first).
serve: setup
	.venv/bin/panel serve panel_serve.py --port $${PORT:-5006} --num-threads 4 --setup artemis_panel/server_setup.py --show

# Demo data, a training run on it, and the run synced into the store (the dashboard comes next).
demo: setup
	@test -f data/demo/training.csv || .venv/bin/artemis demo-data data/demo
	.venv/bin/artemis train data/demo --out runs
	.venv/bin/artemis sync --from runs

test: setup
	.venv/bin/python -m pytest

bench-fit: setup
	.venv/bin/python bench/fit.py

bench-optimize: setup
	.venv/bin/python bench/optimize.py

bench-app: setup
	.venv/bin/python bench/app.py

bench-cv: setup
	.venv/bin/python bench/cv.py

bench-hosting: setup
	.venv/bin/python bench/hosting.py

bench-pipeline: setup
	.venv/bin/python bench/pipeline.py

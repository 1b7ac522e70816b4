"""The gold-table pipeline: landing files -> bronze -> silver -> gold tables and the training dataset.

Driven by a config folder (``config.py``), run by ``run.py`` on DuckDB or Spark (``engine.py``).
"""

"""One module per stage, in the spec's order (the pipeline lists them)."""

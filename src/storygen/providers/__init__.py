"""Backends, one package per capability. Each package has a ``base.py`` protocol; backends are picked by name."""

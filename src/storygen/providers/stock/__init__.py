"""Stock photos and footage (Pexels, Pixabay) picked to match each scene. See provider.py."""

from storygen.providers.stock.candidate import Candidate, NoCandidate

__all__ = ["Candidate", "NoCandidate"]

"""StoryGenerator: turn a story idea into a finished vertical short video."""

__version__ = "0.1.0"

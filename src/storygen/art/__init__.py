"""Looks: mood -> palette, keywords -> motifs. Shared by the scene planner and the procedural keyframes."""

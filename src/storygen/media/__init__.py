"""Media helpers: the ffmpeg runner, audio post-processing, caption rendering and the final cut."""

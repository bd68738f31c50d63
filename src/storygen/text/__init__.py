"""Text helpers shared by the writing, voice and caption layers: sentences, spoken numbers, caption words and
script-to-heard-word timing. Imports only the bottom layer (models, config, errors)."""

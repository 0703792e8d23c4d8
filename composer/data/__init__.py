"""Scan MIDI folders, encode files for a model family in parallel, cache arrays, split, augment."""

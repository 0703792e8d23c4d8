"""The training wizard: from a folder of MIDI files to a new model of any family."""

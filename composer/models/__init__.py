"""Model families, their registry, sampling and the checkpoint format. Never imports Qt."""

"""The model-agnostic training loop (one process or DDP under torchrun), JSON-lines progress."""

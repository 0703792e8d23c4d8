"""Generation requests: primer Score in, continued Scores out; variations, constraints."""

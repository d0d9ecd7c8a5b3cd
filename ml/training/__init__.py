"""Training the networks this project ships (emotion, portrait): outside the inference code,
which they only call."""

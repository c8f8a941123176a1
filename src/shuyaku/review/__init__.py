"""Review: staff decisions on what the system proposed (continuity candidates), each one
guarded, logged, and followed in the same transaction by everything it changes."""

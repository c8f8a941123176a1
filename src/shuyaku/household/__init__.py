"""世帯 (household): prefecture household IDs, household records, membership."""

"""Location enrichment: a programme's region names become coordinates (reference §9.6)."""

"""Rank what hurts most: exhaustive N-1/N-2 screening, worst-case k, and the *protect first* table."""

"""Adapters at the edge: providers and (later) cloud persistence."""

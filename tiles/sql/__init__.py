"""Packaged SQL of the tiles."""

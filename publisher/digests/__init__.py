"""Digests: what a digest run selects (window, articles, most viewed, variants) and the run
itself.
"""

"""Core: the plain data, settings, time and identifiers every other package shares. Imports no
other publisher package.
"""

"""publisher: a newsletter and syndication publisher for news sites."""

__version__ = "0.1.0"

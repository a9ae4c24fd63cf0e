"""Chorus: self-hosted social media management for organisations with many accounts."""

__version__ = "0.1.0"

"""wfctl — inspect and control workflow runs on any engine."""

__version__ = "0.1.0"

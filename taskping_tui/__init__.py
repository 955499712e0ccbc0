"""taskping-tui: run a coding agent in a terminal pane and steer it from your phone by mail."""

__version__ = "0.1.0"

"""kzfeed: a command-line wire reader for Kazakhstan's news agencies and the Russian wires."""

__version__ = "0.1.0"

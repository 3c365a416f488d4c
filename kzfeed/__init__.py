"""kzfeed: a command-line wire reader for Kazakhstan's news agencies and the Russian wires."""

import sys

__version__ = "0.1.0"

# httpx imports its own command-line client when click, rich and pygments are installed, as
# they are here (rich.syntax, pygments: ~35 ms of every fetching command), and kzfeed never
# runs it.  With this entry that import fails as if they were absent, and httpx puts its
# stub in its place.  Set before any httpx import, whoever imports first.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

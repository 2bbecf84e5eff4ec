"""A new gradebook's schema version, read in this process: importing this module makes nbgrader use it.

nbgrader finds the version by running the ``alembic heads`` command in a new process for every new gradebook:
seconds for one short string (15 s on a loaded 2-core machine), and a crash (FileNotFoundError: 'alembic')
where the kit's Python runs by its full path, its environment not activated, as in
``venv/bin/python -m autograder grade``. ``alembic_head`` reads the same migration scripts, so it gives the
same answer; if alembic cannot say, it falls back on nbgrader's way.
"""
import functools

import nbgrader.api
from nbgrader.dbutil import ALEMBIC_DIR

alembic_heads_command = nbgrader.api.get_alembic_version  # nbgrader's own way


@functools.cache
def alembic_head() -> str:
    """The schema version nbgrader stamps on a new gradebook, from its migration scripts."""
    try:
        from alembic.script import ScriptDirectory
        return ScriptDirectory(ALEMBIC_DIR).get_current_head() or alembic_heads_command()
    except Exception:
        return alembic_heads_command()


nbgrader.api.get_alembic_version = alembic_head  # looked up by name each time nbgrader creates a gradebook

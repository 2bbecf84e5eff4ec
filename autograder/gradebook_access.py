"""Whether the course's gradebook can be opened, asked once before a command uses it.

A PostgreSQL server that is down or out of reach, a mistyped password, a driver not installed, a
``gradebook.db`` that is not a database: nbgrader would end each in a traceback, and ``release`` in its
advice to run ``nbgrader db upgrade``, which is not the problem.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url

from .course import Course, CourseError, install_command, sqlite_file

WHERE = "c.CourseDirectory.db_url in nbgrader_config.py"


def shown_url(url: str) -> str:
    """The gradebook's URL with its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def gradebook_problem(url: str, write: bool = False) -> str | None:
    """Why the gradebook at ``url`` (``Course.db_url``) cannot be opened, and what to do; None when it opens (its
    tables are listed). With ``write``, also why its user may not change it, as ``release`` and ``grade`` do (not for
    a SQLite file: its rights are a file's, ``Course.not_writable``)."""
    file = sqlite_file(url)
    if file:
        return _sqlite_problem(file)
    try:
        engine = sqlalchemy.create_engine(url)
    except sqlalchemy.exc.NoSuchModuleError as error:  # a scheme no dialect has (before ArgumentError, its base)
        return f"The gradebook's URL {shown_url(url)} names no database SQLAlchemy knows ({error}): correct {WHERE}."
    except sqlalchemy.exc.ArgumentError as error:
        return f"The gradebook's URL {shown_url(url)} is not a database URL ({error}): correct {WHERE}."
    except ImportError as error:
        postgres, driver = make_url(url).get_backend_name() == "postgresql", make_url(url).get_driver_name()
        kit = f"install it with the kit, from the course root: {install_command(None, '.[postgres]')}"
        install = (f" (for PostgreSQL, {kit})" if postgres and driver == "psycopg" else
                   f" (the kit's PostgreSQL driver is psycopg 3: name it in {WHERE}, postgresql://... or "
                   f"postgresql+psycopg://..., not postgresql+{driver}://..., and {kit})" if postgres else
                   " (install it in this Python environment)")
        return f"The gradebook {shown_url(url)} needs a database driver that is not installed: {error.name}{install}."
    try:
        with engine.connect() as connection:
            tables = sqlalchemy.inspect(connection).get_table_names()
            encoding = _not_utf8(connection)
            denied = _write_denied(connection, tables) if write and not encoding else None
    except sqlalchemy.exc.DBAPIError as error:
        return (f"The gradebook {shown_url(url)} cannot be opened: {_reason(error)} Check that its server is running "
                f"and can be reached from this machine, and that the URL's user, password and database are right "
                f"({WHERE}), then run the command again.")
    finally:
        engine.dispose()
    if encoding:
        name = make_url(url).database or "DATABASE"
        return (f"The gradebook {shown_url(url)} stores text as {encoding}, which cannot hold every student's name "
                f"(王伟, say) or every comment given in the formgrader: nbgrader's gradebook needs UTF-8. As the "
                f"database's owner, make a UTF-8 database and copy the gradebook into it (the server converts the "
                f"text): createdb -E UTF8 -T template0 {name}_utf8 && pg_dump {name} | psql {name}_utf8 (with the "
                f"-h, -p and -U options of your server); then name {name}_utf8 in {WHERE} and run the command again.")
    if denied:
        user = make_url(url).username or "its user"
        return (f"The gradebook {shown_url(url)} opens, but {user} may not write to it: {denied} release and grade "
                "write to it (export, report and feedback only read it). Let that user write nbgrader's tables (in "
                f"PostgreSQL, as the database's owner: GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
                f"public TO {user}; and, before the first release, GRANT CREATE ON SCHEMA public TO {user}), or give "
                f"the URL of a user who may ({WHERE}), then run the command again.")
    return None


def _not_utf8(connection: sqlalchemy.Connection) -> str | None:
    """The encoding a PostgreSQL gradebook stores its text in (``LATIN1``, ``SQL_ASCII``), if not UTF-8; else None."""
    if connection.dialect.name != "postgresql":
        return None
    encoding = connection.exec_driver_sql("SHOW server_encoding").scalar()
    return None if encoding == "UTF8" else encoding


def _reason(error: sqlalchemy.exc.DBAPIError) -> str:
    """The database's own words for ``error``, on one line, ending with a full stop."""
    reason = " ".join(str(error.orig).split())
    return reason + ("" if reason.endswith((".", "?", "!")) else ".")


def _write_denied(connection: sqlalchemy.Connection, tables: list[str]) -> str | None:
    """What the server says when its user adds, changes or deletes rows of nbgrader's tables (none: every statement
    matches no row, and all is rolled back), or creates them in an empty gradebook; None if it may."""
    from nbgrader.api import Base  # nbgrader's tables, as it writes them
    false = sqlalchemy.false()
    try:
        for table in Base.metadata.sorted_tables:
            if table.name not in tables:
                continue
            key = next(iter(table.primary_key.columns))
            for statement in (sqlalchemy.insert(table).from_select([key], sqlalchemy.select(key).where(false)),
                              sqlalchemy.update(table).where(false).values({key: key}),
                              sqlalchemy.delete(table).where(false)):
                connection.execute(statement)
        if not tables and connection.dialect.name == "postgresql" and not connection.execute(
                sqlalchemy.text("SELECT has_schema_privilege(current_schema(), 'CREATE')")).scalar():
            return "it has no right to create tables in the database's schema, and the first release creates nbgrader's."
    except sqlalchemy.exc.ProgrammingError as error:  # "permission denied", as PostgreSQL and MySQL say it
        return _reason(error)
    finally:
        connection.rollback()
    return None


def _sqlite_problem(file: Path) -> str | None:
    """Why a SQLite gradebook is not a database (damaged, or another file under its name); None if it is one, or if
    it is not there yet (nbgrader makes it) or not readable (the commands' own checks say so). Opened read-only."""
    if not file.is_file() or not os.access(file, os.R_OK):
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{file.as_uri()}?mode=ro", uri=True)) as database:
            database.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.OperationalError:  # locked by a writer this instant, say: not a damaged file
        return None
    except sqlite3.DatabaseError as error:
        return (f"The gradebook {file} cannot be opened: {error}. If it is damaged or not a gradebook, restore it from "
                "a backup (or move it away to start an empty one), then run the command again.")
    return None


def released(gb, lab: str) -> bool:
    """Whether ``lab`` is in the open gradebook ``gb`` (an nbgrader ``Gradebook``) with its notebooks: ``release``
    put it there, so its tests are known."""
    from nbgrader.api import MissingEntry
    try:
        return bool(gb.find_assignment(lab).notebooks)
    except MissingEntry:
        return False


def graded_submissions(gb, lab: str, students) -> dict:
    """student -> their submission of ``lab`` in the open gradebook ``gb`` (an nbgrader ``SubmittedAssignment``, its
    notebooks and their grades loaded with it), for each of ``students`` whose submission nbgrader graded into this
    gradebook; the others are left out (none if ``lab`` is not in it). One query, not one per student: grade, export,
    report and feedback ask it which students' grading records to trust (``records.lost``)."""
    from nbgrader.api import Assignment, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy.orm import selectinload
    students = list(students)
    if not students:
        return {}
    query = gb.db.query(SubmittedAssignment).join(SubmittedAssignment.assignment).filter(
        Assignment.name == lab, SubmittedAssignment.student_id.in_(students)).options(
        selectinload(SubmittedAssignment.notebooks).selectinload(SubmittedNotebook.grades))
    return {submission.student_id: submission for submission in query}


def recorded_tests(gb, lab: str) -> tuple[dict[str, str], dict[str, float]]:
    """By grade id, the text of each cell nbgrader keeps (locked cells, answers, tests with their hidden region) and
    the points of each graded one, as the open gradebook ``gb`` recorded them at ``lab``'s last release."""
    stored = gb.find_notebook(lab, lab)
    return {cell.name: cell.source for cell in stored.source_cells}, {cell.name: cell.max_score
                                                                       for cell in stored.grade_cells}


def if_released(url: str, lab: str, action):
    """``action(gb)`` on the gradebook at ``url`` if ``lab`` was released into it, else None (a SQLite file that does
    not exist is not created)."""
    from nbgrader.api import Gradebook
    file = sqlite_file(url)
    if file and not file.is_file():
        return None
    with Gradebook(url) as gb:
        return action(gb) if released(gb, lab) else None


def changed_since_release(gb, lab: str, nb) -> list[str]:
    """What the source notebook ``nb`` of ``lab`` no longer has as the open gradebook ``gb`` recorded it at release:
    the text of a locked cell (a test with its hidden region, say), a test's points, a cell added or taken out.
    nbgrader grades by the gradebook's copy, so any of these means that students would be graded by the old one."""
    from .judge.cells import split_hidden
    kept, points = recorded_tests(gb, lab)
    cells = {meta["grade_id"]: (cell, meta) for cell in nb.cells
             if (meta := cell.get("metadata", {}).get("nbgrader", {})).get("grade_id")}
    changes = [f"cell {name} is new" for name in cells if name not in kept]
    changes += [f"cell {name} was taken out" for name in kept if name not in cells]
    for name, (cell, meta) in cells.items():
        if name in kept and meta.get("locked") and not meta.get("solution") and cell.source != kept[name]:
            hidden_only = split_hidden(cell.source)[0] == split_hidden(kept[name])[0]
            changes.append(f"{name}'s hidden tests were edited" if hidden_only else f"{name} was edited")
        if name in points and meta.get("grade") and float(meta.get("points", 0)) != points[name]:
            changes.append(f"{name} is worth {float(meta.get('points', 0)):g} points, released with {points[name]:g}")
    return changes


def tests_changed_since_release(url: str, lab: str, nb) -> list[str]:
    """``changed_since_release`` in the gradebook at ``url``, if ``lab`` was released into it (else nothing to say)."""
    return if_released(url, lab, lambda gb: changed_since_release(gb, lab, nb)) or []


def require_released(course: Course, lab: str, then: str) -> None:
    """Raise CourseError unless ``lab`` was released into the course's gradebook (a SQLite file that does not exist
    is not created); ``then`` is the command ("feedback", "report") to run on ``lab`` again once it is graded."""
    if not if_released(course.db_url(), lab, lambda gb: True):
        raise CourseError(f"{lab} has not been released into the gradebook yet, so nothing of it was graded. Release "
                          f"it (`{course.command('release', lab)}`), grade it (`{course.command('grade', lab)}`), "
                          f"then run `{course.command(then, lab)}` again.")

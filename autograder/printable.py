"""Text from a submission made safe to print: what a student wrote reaches the instructor's terminal (an error's
name in the grade table's detail, a file's name) and must print as what it is, not move the cursor, rewrite a row
or reverse the line."""
import re

# C0 and C1 control characters (escape sequences, carriage returns, line breaks) and the bidirectional embeddings,
# overrides and isolates; not the joiners and marks that names in Persian or Hindi hold
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with each control character written out as its Python escape (ESC as ``\\x1b``)."""
    return _CONTROLS.sub(lambda control: control.group().encode("unicode_escape").decode("ascii"), text)

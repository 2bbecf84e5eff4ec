"""The release leak check finds every kind of secret that could reach students, and nothing else."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.leaks import find_leaks, secret_lines


def cell(kind, source, **nbgrader):
    make = new_code_cell if kind == "code" else new_markdown_cell
    return make(source, metadata={"nbgrader": {"grade_id": f"id{abs(hash(source))}", **nbgrader}})


SOURCE = new_notebook(cells=[
    cell("markdown", "Implement `sigmoid`; it should return s = 1 / (1 + exp(-z))."),
    cell("code", "def sigmoid(z):\n    ### BEGIN SOLUTION\n    return 1.0 / (1.0 + np.exp(-z))\n    ### END SOLUTION",
         solution=True),
    cell("code", "assert sigmoid(0) == 0.5\n### BEGIN HIDDEN TESTS\nfrom autograder.hidden import lab1\n"
         "lab1.check_sigmoid(sigmoid)\n### END HIDDEN TESTS", grade=True, locked=True, points=1),
    cell("markdown", "Symmetry means every hidden unit computes the same function.", grade=True, solution=True,
         points=2),
    cell("code", "def relu(z):\n    return np.maximum(0.0, z)", solution=True),
])


def release_of(tmp_path, *cells):
    folder = tmp_path / "release"
    folder.mkdir()
    nbformat.write(new_notebook(cells=list(cells)), folder / "lab.ipynb")
    nbformat.write(SOURCE, tmp_path / "source.ipynb")
    return find_leaks(tmp_path / "source.ipynb", folder)


def test_secret_lines_are_solutions_hidden_tests_and_answers_but_not_public_text():
    secrets = secret_lines(SOURCE)
    assert "return 1.0 / (1.0 + np.exp(-z))" in secrets
    assert "lab1.check_sigmoid(sigmoid)" in secrets
    assert "Symmetry means every hidden unit computes the same function." in secrets
    assert "return np.maximum(0.0, z)" in secrets  # a solution cell without delimiters is all solution
    assert "assert sigmoid(0) == 0.5" not in secrets and "def sigmoid(z):" not in secrets
    assert secret_lines(SOURCE, ("BEGIN HIDDEN TESTS",)) == {"from autograder.hidden import lab1",
                                                             "lab1.check_sigmoid(sigmoid)"}


def test_a_clean_student_version_has_no_leaks(tmp_path):
    assert release_of(tmp_path, new_code_cell("def sigmoid(z):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
                      new_code_cell("assert sigmoid(0) == 0.5"), new_markdown_cell("YOUR ANSWER HERE")) == []


def test_each_kind_of_leak_is_reported(tmp_path):
    leaks = release_of(tmp_path,
                       new_code_cell("def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))"),
                       new_code_cell("### BEGIN HIDDEN TESTS"),
                       new_code_cell("import autograder.reference as ref"),
                       new_markdown_cell("Symmetry means every hidden unit computes the same function."),
                       new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="0.5")]))
    found = {(leak.where, leak.what.split(" ")[0]) for leak in leaks}
    assert ("cell 1", "secret") in found  # counted from 1, as a reader counts
    assert ("cell 2", "nbgrader") in found
    assert ("cell 3", "a") in found  # a reference to the instructor-only package
    assert ("cell 4", "secret") in found
    assert ("cell 5", "the") in found  # outputs


def test_other_files_in_the_release_are_checked_too(tmp_path):
    leaks = release_of(tmp_path, new_code_cell("x = 1"))
    assert leaks == []
    (tmp_path / "release" / "helper.py").write_text("from autograder.reference import mlp\n")
    assert [leak.where for leak in find_leaks(tmp_path / "source.ipynb", tmp_path / "release")] == ["file"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_a_file_saved_in_any_editors_encoding_is_checked(tmp_path, encoding):
    """A helper file saved on a Spanish Windows (Windows-1252) or by Notepad as "Unicode" (UTF-16) is read, not
    passed over as binary data: its solution line is found."""
    release_of(tmp_path, new_code_cell("x = 1"))
    text = "# Funciones de apoyo: inicialización, señales\n    return 1.0 / (1.0 + np.exp(-z))\n"
    (tmp_path / "release" / "apoyo.py").write_bytes(text.encode(encoding))
    leaks = find_leaks(tmp_path / "source.ipynb", tmp_path / "release")
    assert [(leak.path.name, leak.what) for leak in leaks] == [
        ("apoyo.py", "secret line 'return 1.0 / (1.0 + np.exp(-z))'")]


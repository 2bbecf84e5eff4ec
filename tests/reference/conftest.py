"""Shared check for the reference tests: analytic gradients against numerical ones."""
import numpy as np
import pytest

from course_utils.gradcheck import rel_error


@pytest.fixture(scope="session")
def assert_gradient_close():
    """Check an analytic gradient against a float64 centred-difference one.

    Entries must agree to 1e-7 relative error, plus 1e-9 absolute for entries so close to 0
    that the finite-difference noise (about 1e-16 * |f| / h ~ 1e-10) dominates them; a wrong
    gradient (a missing factor, a transposed matrix, a wrong sum) misses both by far.
    """
    def check(analytic, numerical, name="gradient"):
        assert np.shape(analytic) == np.shape(numerical), f"{name}: shape {np.shape(analytic)} != {np.shape(numerical)}"
        np.testing.assert_allclose(analytic, numerical, rtol=1e-7, atol=1e-9,
                                   err_msg=f"{name}: rel_error {rel_error(analytic, numerical):.2e}")
    return check

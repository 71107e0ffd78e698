from tests.projects.conftest import product  # noqa: F401  (shared fixtures)
from tests.tenants.conftest import platform  # noqa: F401

"""tests.support under the name the e2e folder's tests once imported it by; import tests.support."""

from tests.support import *  # noqa: F403

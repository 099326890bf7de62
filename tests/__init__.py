"""The test suite. Importing it settles the test run's configuration, before any app module.

pytest-dotenv has loaded ``.test.env`` over the environment, so a shell or a container whose
``DATABASE_URL`` points at development data cannot send the tests there. ``TEST_<KEY>`` then
sets ``<KEY>`` for the run: ``TEST_DATABASE_URL``, ``TEST_REDIS_URL`` (as the compose stack and
``make test-embedded`` do), or any other key.
"""

import os

TEST_PREFIX = "TEST_"

for _name, _value in list(os.environ.items()):
    if _name.startswith(TEST_PREFIX) and len(_name) > len(TEST_PREFIX):
        os.environ[_name.removeprefix(TEST_PREFIX)] = _value

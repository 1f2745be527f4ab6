"""A fake of the operator's platform for QA and the platform client's tests: a real HTTP server that
implements kiosk/backend/openapi.yaml on SQLite, with fault injection. See server.py; run it on its own with
`python -m kiosk.testing.fake_platform --help`.

Test-only: it validates against the contract with jsonschema, a development dependency."""

from kiosk.testing.fake_platform.faults import Faults
from kiosk.testing.fake_platform.server import FakePlatform, hash_code, scrypt_phc

__all__ = ["FakePlatform", "Faults", "hash_code", "scrypt_phc"]

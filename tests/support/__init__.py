"""Test support: each real component's fixtures (registered as plugins in tests/conftest.py), the mock
Anthropic API, the app harness, and where the test data lives."""

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
ROOT = TESTS_DIR.parent
DATA_DIR = TESTS_DIR / "data"
MAIL_CORPUS = DATA_DIR / "mail"
STREAMS_DIR = DATA_DIR / "streams"

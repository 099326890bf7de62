"""The pieces of two-factor sign-in: sealed secrets, code steps, recovery codes."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from app.auth.services.two_factor import (
    SecretBox,
    hash_recovery_code,
    matching_step,
    new_recovery_code,
)

SECRET = pyotp.random_base32()
NOW = datetime(2026, 12, 1, 12, 0, 15, tzinfo=UTC)
STEP = int(NOW.timestamp()) // 30


def code_at(seconds: int) -> str:
    return pyotp.TOTP(SECRET).at(NOW + timedelta(seconds=seconds))


def test_a_sealed_secret_opens_with_its_key_only() -> None:
    sealed = SecretBox("key one").seal(SECRET)

    assert SECRET not in sealed
    assert SecretBox("key one").open(sealed) == SECRET
    assert SecretBox("key two").open(sealed) is None


def test_a_secret_sealed_by_an_earlier_release_still_opens() -> None:
    # Sealed with this key by the first release: a change to the key derivation would lock
    # every enrolled user out after an upgrade.
    sealed = (
        "gAAAAABrDqcQHUJSvjQOG8zxE7GQTg-5Xp0Ej4P69ddZoejKN1IgfP4q4fSnk4OP5MGFIiZ_7wykyiKyysMQXKtn"
        "uNzAC_qQBgKL13oQkUTGxsjnd6F0oKo="
    )

    assert SecretBox("stored by an earlier release").open(sealed) == "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize(("offset", "step"), [(-30, STEP - 1), (0, STEP), (30, STEP + 1)])
def test_the_step_before_now_and_after_are_accepted(offset: int, step: int) -> None:
    assert matching_step(SECRET, code_at(offset), NOW, None) == step


@pytest.mark.parametrize("offset", [-60, 60, 3600])
def test_codes_further_away_are_refused(offset: int) -> None:
    assert matching_step(SECRET, code_at(offset), NOW, None) is None


def test_no_step_at_or_before_the_last_accepted_one() -> None:
    assert matching_step(SECRET, code_at(0), NOW, STEP) is None
    assert matching_step(SECRET, code_at(-30), NOW, STEP - 1) is None
    assert matching_step(SECRET, code_at(30), NOW, STEP) == STEP + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345"])
def test_malformed_codes_never_match(code: str) -> None:
    assert matching_step(SECRET, code, NOW, None) is None


def test_recovery_codes_are_random_and_compared_loosely() -> None:
    codes = {new_recovery_code() for _ in range(50)}
    code = next(iter(codes))

    assert len(codes) == 50
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    assert hash_recovery_code(code) == hash_recovery_code(f" {code.upper().replace('-', ' ')} ")
    assert hash_recovery_code(code) != hash_recovery_code(new_recovery_code())

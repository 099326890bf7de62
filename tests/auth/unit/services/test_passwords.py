import pytest
from pwdlib.hashers.bcrypt import BcryptHasher

from app.auth.config import auth_config
from app.auth.services.passwords import PasswordHasher

hasher = PasswordHasher(auth_config)


async def test_hash_and_verify() -> None:
    password_hash = await hasher.hash("a-good-password")

    assert password_hash.startswith("$argon2id$")
    assert await hasher.verify("a-good-password", password_hash) == (True, None)
    assert await hasher.verify("a-bad-password", password_hash) == (False, None)


async def test_bcrypt_hashes_verify_and_come_back_upgraded() -> None:
    legacy = BcryptHasher(rounds=4).hash("old-password")

    valid, upgraded = await hasher.verify("old-password", legacy)

    assert valid
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$")


async def test_overlong_or_unverifiable_input_never_matches() -> None:
    legacy = BcryptHasher(rounds=4).hash("x" * 60)
    long_password = "x" * 200

    assert await hasher.verify(long_password, await hasher.hash("x" * 128)) == (False, None)
    assert await hasher.verify("y" * 100, legacy) == (False, None)
    assert await hasher.verify("anything", "not-a-hash") == (False, None)


async def test_burn_costs_a_verification_without_raising() -> None:
    await hasher.burn("whatever")


async def test_the_policy_refuses_blank_passwords_itself() -> None:
    from app.auth.exceptions import WeakPassword
    from app.auth.services.passwords import PasswordPolicy

    with pytest.raises(WeakPassword, match="blank"):
        await PasswordPolicy(min_score=0).check("\t\n  \u2003   ")

import asyncio
import threading

import pytest
from pwdlib.hashers.bcrypt import BcryptHasher

from app.auth.config import MAX_PASSWORD_LENGTH, auth_config
from app.auth.exceptions import WeakPassword
from app.auth.services.passwords import PasswordHasher, PasswordPolicy

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


async def test_the_longest_password_allowed_verifies() -> None:
    longest = "x" * MAX_PASSWORD_LENGTH

    assert await hasher.verify(longest, await hasher.hash(longest)) == (True, None)


async def test_hashes_run_on_their_own_threads_never_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = PasswordHasher(auth_config)
    threads: list[str] = []
    real_hash = own._hash.hash

    def recording_hash(password: str) -> str:
        threads.append(threading.current_thread().name)
        return real_hash(password)

    monkeypatch.setattr(own._hash, "hash", recording_hash)

    await asyncio.gather(*(own.hash(f"password-{n}") for n in range(4)))

    assert len(threads) == 4
    assert all(name.startswith("password-hash") for name in threads)
    assert len(set(threads)) <= auth_config.PASSWORD_HASH_THREADS


async def test_the_policy_refuses_blank_passwords_itself() -> None:
    with pytest.raises(WeakPassword) as refused:
        await PasswordPolicy(min_score=0).check("\t\n  \u2003   ")

    assert refused.value.detail == "The password must not be blank"


async def test_a_password_scoring_the_minimum_is_accepted() -> None:
    await PasswordPolicy(min_score=3).check("horse staple")  # zxcvbn scores it 3
    await PasswordPolicy(min_score=0).check("password")  # 0: any non-blank password


async def test_the_lowest_minimum_still_refuses_the_commonest_passwords() -> None:
    with pytest.raises(WeakPassword):
        await PasswordPolicy(min_score=1).check("password")  # zxcvbn scores it 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (
            "Password1",
            "The password is too easy to guess. This is a very common password. Add another "
            "word or two. Uncommon words are better. Capitalization doesn't help very much.",
        ),
        (
            "ab12cd",
            "The password is too easy to guess. It follows a pattern that is easy to guess. "
            "Add another word or two. Uncommon words are better.",
        ),
    ],
)
async def test_a_refusal_says_why_and_what_would_help(password: str, message: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        await PasswordPolicy(min_score=3).check(password)

    assert refused.value.detail == message


async def test_a_password_is_judged_on_its_first_72_characters() -> None:
    weak_start = "qwerty" * 11 + "qwertz"  # 72 characters that score under 3
    # The 73rd character would lift the score to 3: zxcvbn never sees it.
    with pytest.raises(WeakPassword):
        await PasswordPolicy(min_score=3).check(weak_start + "x")

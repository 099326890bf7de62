"""Access and challenge tokens at their edges: claims, subject bounds, opaque tokens."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.auth.exceptions import InvalidToken
from app.auth.services.tokens import (
    AccessTokens,
    ChallengeTokens,
    hash_token,
    new_opaque_token,
)
from app.core.configs import app_config

NOW = datetime.now(UTC)
access = AccessTokens(app_config)
challenges = ChallengeTokens(app_config, 300)


def claims_of(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, app_config.SECRET_KEY, algorithms=["HS256"])
    return decoded


def signed(**claims: object) -> str:
    return jwt.encode(claims, app_config.SECRET_KEY, algorithm="HS256")


def test_an_access_token_carries_its_claims() -> None:
    token = access.issue(42, "f" * 32, NOW)

    claims = claims_of(token)

    assert (claims["sub"], claims["type"], claims["sid"]) == ("42", "access", "f" * 32)
    assert claims["exp"] == int((NOW + access.lifetime).timestamp())
    assert access.decode(token).user_id == 42
    assert access.decode(token).session_id == "f" * 32


def test_tokens_issued_in_the_same_instant_differ() -> None:
    first, second = access.issue(1, "a" * 32, NOW), access.issue(1, "a" * 32, NOW)
    one, other = challenges.issue(1, NOW), challenges.issue(1, NOW)

    assert first != second
    assert claims_of(first)["jti"] != claims_of(second)["jti"]
    assert claims_of(one)["jti"] != claims_of(other)["jti"]


def test_a_challenge_is_of_its_own_type_and_never_an_access_token() -> None:
    challenge = challenges.issue(7, NOW)

    assert claims_of(challenge)["type"] == "2fa"
    assert challenges.decode(challenge) == 7
    with pytest.raises(InvalidToken):
        access.decode(challenge)
    with pytest.raises(InvalidToken):
        challenges.decode(access.issue(7, "a" * 32, NOW))


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "type"])
def test_a_token_missing_a_required_claim_is_refused(missing: str) -> None:
    claims = {"sub": "1", "type": "access", "iat": NOW, "exp": NOW + timedelta(minutes=5)}
    del claims[missing]

    with pytest.raises(InvalidToken):
        access.decode(signed(**claims))


@pytest.mark.parametrize("user_id", [1, 1_001, 2_147_483_647])
def test_every_id_of_the_column_is_a_subject(user_id: int) -> None:
    token = signed(sub=str(user_id), type="access", iat=NOW, exp=NOW + timedelta(minutes=5))

    assert access.decode(token).user_id == user_id


# The column is a 32-bit INTEGER: 2**31 - 1 is its largest id.
@pytest.mark.parametrize("subject", ["0", "-1", "2147483648", str(2**32), str(3**31)])
def test_subjects_outside_the_id_column_are_refused(subject: str) -> None:
    token = signed(sub=subject, type="access", iat=NOW, exp=NOW + timedelta(minutes=5))

    with pytest.raises(InvalidToken):
        access.decode(token)
    with pytest.raises(InvalidToken):
        challenges.decode(signed(sub=subject, type="2fa", iat=NOW, exp=NOW + timedelta(minutes=5)))


def test_opaque_tokens_hold_256_random_bits_and_only_their_hash_is_kept() -> None:
    token, digest = new_opaque_token()

    assert len(token) == 43  # 32 bytes, URL-safe base64 without padding
    assert digest == hash_token(token)
    assert len(digest) == 64
    assert new_opaque_token()[0] != token


def test_any_text_hashes_even_a_lone_surrogate() -> None:
    assert hash_token("a\ud800b") != hash_token("ab")

"""Session tokens: random enough, readable, and found in subjects however people and clients mangle them."""

from __future__ import annotations

import math

import pytest

from taskping_tui.mail.tokens import (
    SUBJECT_TAG_FORMAT,
    TOKEN_ALPHABET,
    TOKEN_BITS,
    TOKEN_LENGTH,
    find_token_in_subject,
    find_tokens_in_subject,
    is_valid_token,
    new_token,
    normalize_token,
    subject_tag,
)


def test_new_token_has_8_characters_from_the_alphabet_and_at_least_40_bits() -> None:
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000  # no collisions in a small sample
    assert all(len(t) == TOKEN_LENGTH == 8 for t in tokens)
    assert all(set(t) <= set(TOKEN_ALPHABET) for t in tokens)
    assert TOKEN_LENGTH * math.log2(len(TOKEN_ALPHABET)) >= TOKEN_BITS >= 40


def test_alphabet_has_no_letters_that_read_like_digits() -> None:
    assert len(set(TOKEN_ALPHABET)) == len(TOKEN_ALPHABET) == 32
    assert not set("OIL") & set(TOKEN_ALPHABET)
    assert TOKEN_ALPHABET == TOKEN_ALPHABET.upper()


def test_every_character_of_the_alphabet_appears_over_many_tokens() -> None:
    seen = set("".join(new_token() for _ in range(500)))
    assert seen == set(TOKEN_ALPHABET)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7K3QZ9MX", "7K3QZ9MX"),
        ("7k3qz9mx", "7K3QZ9MX"),
        (" 7K3Q-Z9MX ", "7K3QZ9MX"),
        ("7K3Q Z9MX", "7K3QZ9MX"),
        ("７Ｋ３Ｑｚ９ｍｘ", "7K3QZ9MX"),  # full-width
        ("O1IL2345", "01112345"),  # look-alike letters read as the digits they resemble
        ("abc", None),
        ("7K3QZ9MXX", None),
        ("7K3QZ9M", None),
        ("7K3QZ9MU", None),  # U is not in the alphabet
        ("", None),
        ("7K3QZ9M!", None),
    ],
)
def test_normalize_token(typed: str, expected: str | None) -> None:
    assert normalize_token(typed) == expected


def test_normalized_tokens_are_valid_and_stable() -> None:
    token = new_token()
    assert is_valid_token(token)
    assert normalize_token(token.lower()) == token
    assert not is_valid_token(token.lower())


def test_subject_tag_format() -> None:
    assert SUBJECT_TAG_FORMAT == "[TaskPing #{token}]"
    assert subject_tag("7K3QZ9MX") == "[TaskPing #7K3QZ9MX]"
    assert find_token_in_subject(subject_tag("7K3QZ9MX") + " Turn finished") == "7K3QZ9MX"


@pytest.mark.parametrize(
    "subject",
    [
        "[TaskPing #7K3QZ9MX] Turn finished — demo",
        "Re: [TaskPing #7K3QZ9MX] Turn finished",
        "RE: Re: FW: [TaskPing #7K3QZ9MX]",
        "回复：[TaskPing #7K3QZ9MX] 任务完成",
        "[taskping #7k3qz9mx] lower case",
        "[ TaskPing  #  7K3QZ9MX ] spaces",
        "［TaskPing ＃7K3QZ9MX］ full-width brackets and hash",
        "［ＴａｓｋＰｉｎｇ　＃７Ｋ３ＱＺ９ＭＸ］ all full-width",
        "【TaskPing #7K3QZ9MX】 Chinese input method brackets",
        "Re: [dev] [TaskPing #7K3QZ9MX] inside another tag",
        "Fwd: [TaskPing#7K3QZ9MX]",
    ],
)
def test_find_token_in_subject_accepts_what_clients_and_people_write(subject: str) -> None:
    assert find_token_in_subject(subject) == "7K3QZ9MX"


def test_find_token_folds_lookalikes_in_the_subject() -> None:
    assert find_token_in_subject("Re: [TaskPing #7K3QZ9MO]") == "7K3QZ9M0"


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "Re: Turn finished",
        "[TaskPing 7K3QZ9MX] no hash",
        "[TaskPing #7K3QZ9MXY] too long",
        "[TaskPing #7K3QZ9] too short",
        "TaskPing #7K3QZ9MX without brackets",
        "[TaskPing #7K3QZ9MU] U is not a token character",
        "[TaskPingX #7K3QZ9MX] other tag",
    ],
)
def test_find_token_in_subject_rejects_other_text(subject: str) -> None:
    assert find_token_in_subject(subject) is None


def test_find_token_skips_an_invalid_tag_and_uses_the_next_valid_one() -> None:
    assert find_token_in_subject("[TaskPing #UUUUUUUU] [TaskPing #7K3QZ9MX]") == "7K3QZ9MX"


def test_find_tokens_lists_each_distinct_token_of_the_subject_once_in_order() -> None:
    subject = "Re: [TaskPing #7K3QZ9MX] [TaskPing #UUUUUUUU] Fwd: 【TaskPing #abcd-efgh】 [TaskPing #7k3qz9mx]"
    assert find_tokens_in_subject(subject) == ("7K3QZ9MX", "ABCDEFGH")
    assert find_tokens_in_subject("Re: Turn finished") == ()

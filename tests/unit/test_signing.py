from esms_calls.domain.signing import callback_token, callback_url, token_is_valid

KEY = b"k" * 32


def test_the_callback_url_carries_call_id_and_token_in_its_path() -> None:
    url = callback_url("https://api.example.test/", KEY, "abc")
    path, _, query = url.partition("?")
    assert path == f"https://api.example.test/callbacks/esms/abc/{callback_token(KEY, 'abc')}"
    # The provider's report names, blank, for a provider that fills blanks in.
    assert (
        query == "ReferenceId=&CallDuration=&CallStatus=&Ivr=&Price=&SentResult=&CID=&SendStatus="
    )


def test_only_the_token_of_that_call_under_that_key_is_valid() -> None:
    token = callback_token(KEY, "call-1")
    assert token_is_valid(KEY, "call-1", token)
    assert not token_is_valid(KEY, "call-2", token)
    assert not token_is_valid(b"other-key", "call-1", token)
    assert not token_is_valid(KEY, "call-1", "")
    assert not token_is_valid(KEY, "call-1", token[:-1])

"""What a hostile caller sends: never a 500, never a value echoed, never a secret logged.

One table of probes (a request and the status the contract gives it), each
sent through HTTP with response validation on; after every probe the log is
read for the secret and for long values. The rules with more to check than a
status (prices, names, links, tokens, headers) follow the table.
"""

import json
import logging
import unicodedata
from dataclasses import dataclass, field

import jwt
import pytest

from api.contract.json_body import MAX_DEPTH
from api.policies.request_guard import MAX_HEADER_BYTES, MAX_URL_BYTES
from api.process.logs import JsonLines
from tests.conftest import API, PASSWORD, assert_problem, assert_unauthorized, bearer

SECRET = "my-password-1"
LONG_VALUE = "x" * 200_000  # under the body limit, far over any field's maxLength
LOGGED_LINE_LIMIT = 2_000
JSON = {"Content-Type": "application/json"}
FORM = "application/x-www-form-urlencoded"


def nested(depth: int) -> bytes:
    return b'{"name": ' + b"[" * depth + b"]" * depth + b"}"


@dataclass
class Probe:
    id: str
    method: str
    path: str  # formatted with the ids of `store` and `item`
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    status: int = 400
    authenticated: bool = True


PROBES = [
    # 1. Content-Type in any case is one media type; none at all is 415.
    Probe("form-type-in-mixed-case-with-json-text", "POST", "/auth/login",
          json.dumps({"username": "alice", "password": SECRET}).encode(),
          {"Content-Type": "Application/x-www-form-urlencoded"}, 400, False),
    Probe("form-in-mixed-case-with-an-extra-field", "POST", "/auth/login",
          f"username=alice&password={PASSWORD}&evil=1".encode(),
          {"Content-Type": "Application/X-WWW-Form-Urlencoded"}, 400, False),
    Probe("json-type-in-mixed-case-is-validated", "POST", "/auth/login",
          json.dumps({"username": "alice", "password": SECRET, "x": 1}).encode(),
          {"Content-Type": "Application/Json"}, 400, False),
    Probe("json-type-in-capitals-is-validated", "POST", "/stores",
          b'{"name": 5}', {"Content-Type": "application/JSON"}),
    Probe("login-without-content-type", "POST", "/auth/login",
          json.dumps({"username": "alice", "password": SECRET}).encode(), {}, 415, False),
    Probe("register-without-content-type", "POST", "/auth/register",
          json.dumps({"username": "mallory", "password": SECRET}).encode(), {}, 415, False),
    Probe("logout-without-content-type", "POST", "/auth/logout", b'{}', {}, 415),
    Probe("create-store-without-content-type", "POST", "/stores", b'{"name": "x"}', {}, 415),
    Probe("update-item-without-content-type", "PUT", "/items/{item}",
          b'{"name": "x", "price": 1}', {}, 415),
    Probe("a-charset-other-than-utf-8", "POST", "/stores", '{"name": "Caf\xe9"}'.encode("latin-1"),
          {"Content-Type": "application/json; charset=latin-1"}, 415),
    Probe("content-length-that-is-not-a-number", "POST", "/stores", b'{"name": "x"}',
          {**JSON, "Content-Length": "1e3"}),
    # A media type is ASCII (RFC 9110 tokens): other bytes were a 500 from
    # Connexion's own reading of the header, with a body or without.
    Probe("a-content-type-that-is-not-ascii", "POST", "/stores", b'{"name": "x"}',
          {"Content-Type": b"application/json\xe9"}),
    Probe("a-content-type-that-is-not-ascii-on-a-get", "GET", "/stores/{store}",
          headers={"Content-Type": b"\xff\xfe"}),
    Probe("a-control-character-in-a-content-type", "GET", "/stores/{store}",
          headers={"Content-Type": b"text/plain\x01"}),
    # 2. Lone surrogates never reach a hash or the database.
    Probe("lone-surrogate-in-a-password", "POST", "/auth/login",
          b'{"username": "alice", "password": "' + SECRET.encode() + b'\\ud800"}', JSON, 400, False),
    Probe("lone-surrogate-in-a-store-name", "POST", "/stores", b'{"name": "a\\udfffb"}', JSON),
    Probe("lone-surrogate-in-a-key", "POST", "/stores", b'{"name": "a", "\\ud800": 1}', JSON),
    # 3. Details and logs never repeat what was sent.
    Probe("password-in-a-list-body", "POST", "/auth/login",
          json.dumps(["bob", SECRET]).encode(), JSON, 400, False),
    Probe("refresh-token-as-a-bare-string", "POST", "/auth/logout",
          json.dumps(f"{SECRET}.{SECRET}").encode(), JSON),
    Probe("a-long-name", "POST", "/stores", json.dumps({"name": LONG_VALUE}).encode(), JSON),
    Probe("a-long-unknown-key", "POST", "/stores", json.dumps({LONG_VALUE: 1}).encode(), JSON),
    Probe("a-long-path", "GET", "/stores/" + "x" * 7_000, status=404),
    Probe("a-long-query-filter", "GET", "/stores?name=" + "x" * 5_000),
    Probe("a-long-unknown-query-parameter", "GET", "/stores?" + "x" * 5_000 + "=1"),
    Probe("a-password-too-long", "POST", "/auth/register",
          json.dumps({"username": "mallory", "password": SECRET * 20}).encode(), JSON, 400, False),
    # 4. Depth is bounded, and documented.
    Probe("nested-1000-deep", "POST", "/stores", nested(1_000), JSON),
    Probe("nested-100000-deep", "POST", "/stores", nested(100_000), JSON),
    Probe("nested-past-the-limit", "POST", "/stores", nested(MAX_DEPTH), JSON),
    # 5. Patterns end at the end of the text; names hold no control characters.
    Probe("username-with-a-final-newline", "POST", "/auth/register",
          json.dumps({"username": "alice\n", "password": PASSWORD}).encode(), JSON, 400, False),
    Probe("store-name-with-a-newline", "POST", "/stores", b'{"name": "Corner\\nShop"}', JSON),
    Probe("store-name-with-an-escape-code", "POST", "/stores", b'{"name": "\\u001b[31mred"}', JSON),
    Probe("store-name-with-a-c1-control", "POST", "/stores", b'{"name": "a\\u0085b"}', JSON),
    # Names a reader cannot see, or sees reordered (UTS #39).
    Probe("store-name-only-a-zero-width-space", "POST", "/stores", b'{"name": "\\u200b"}', JSON),
    Probe("store-name-with-a-right-to-left-override", "POST", "/stores",
          b'{"name": "abc\\u202edef"}', JSON),
    Probe("store-name-with-a-bidi-isolate", "POST", "/stores", b'{"name": "a\\u2067b"}', JSON),
    Probe("tag-name-of-blanks-and-invisibles", "POST", "/stores/{store}/tags",
          b'{"name": "\\u00a0\\u200b\\ufeff\\u3164"}', JSON),
    Probe("item-name-with-a-left-to-right-mark", "POST", "/items",
          b'{"name": "\\u200eLamp", "price": "1", "store_id": {store}}', JSON),
    Probe("name-filter-with-a-nul", "GET", "/stores?name=a%00b"),
    # 7. Prices are decimals in strings: a JSON number, however written, is refused.
    Probe("price-with-a-far-extra-digit", "POST", "/items",
          b'{"name": "a", "price": 19.9900000000000000001, "store_id": {store}}', JSON),
    Probe("price-that-a-float-rounds-to-zero", "POST", "/items",
          b'{"name": "a", "price": 1e-401, "store_id": {store}}', JSON),
    Probe("price-far-over-the-maximum", "POST", "/items",
          b'{"name": "a", "price": 1e999999, "store_id": {store}}', JSON),
    Probe("an-integer-of-5000-digits", "POST", "/items",
          b'{"name": "a", "price": "1", "store_id": ' + b"9" * 5_000 + b"}", JSON),
    Probe("price-nan", "POST", "/items", b'{"name": "a", "price": NaN, "store_id": {store}}', JSON),
    # Hardening: numbers in the URL as the spec writes them.
    Probe("limit-with-an-underscore", "GET", "/stores?limit=1_0"),
    Probe("limit-with-a-space", "GET", "/stores?limit=%205"),
    Probe("limit-in-arabic-indic-digits", "GET", "/stores?limit=%D9%A3"),
    Probe("limit-twice-one-bad", "GET", "/stores?limit=5&limit=1_0"),
    Probe("id-with-a-leading-zero", "GET", "/stores/0{store}"),
    Probe("id-with-a-plus-sign", "GET", "/stores/%2B{store}"),
    # Not an id at all for the router: no such resource.
    Probe("id-in-arabic-indic-digits", "GET", "/stores/%D9%A3", status=404),
    Probe("min-price-nan", "GET", "/items?min_price=nan"),
    Probe("min-price-infinity", "GET", "/items?min_price=inf"),
    Probe("max-price-with-a-plus", "GET", "/items?max_price=%2B5"),
    # Hardening: duplicate keys.
    Probe("a-key-twice", "POST", "/stores", b'{"name": "a", "name": "b"}', JSON),
    Probe("a-key-twice-in-the-login", "POST", "/auth/login",
          json.dumps({"username": "alice", "password": "x"}).encode()[:-1]
          + f', "password": "{SECRET}"}}'.encode(), JSON, 400, False),
    # Hardening: bounded requests.
    Probe("a-body-over-the-limit", "POST", "/stores",
          json.dumps({"name": "x" * 300_000}).encode(), JSON, 413),
    Probe("a-url-over-the-limit", "GET", "/stores?name=" + "x" * MAX_URL_BYTES, status=414),
    Probe("headers-over-the-limit", "GET", "/stores", headers={"X-Big": "x" * MAX_HEADER_BYTES},
          status=431),
]


@pytest.fixture(params=["text", "json"])
def log_lines(request):
    """Every line the service logs while the test runs, tracebacks included,
    in each LOG_FORMAT (api/process/logs.py)."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.extend(self.format(record).splitlines() or [""])

    handler = Collect()
    handler.setFormatter(JsonLines() if request.param == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("", "api", "connexion", "stores_api.access")]
    for logger in loggers:
        logger.addHandler(handler)
    yield lines
    for logger in loggers:
        logger.removeHandler(handler)


def assert_log_is_clean(lines: list[str], *secrets: str) -> None:
    for line in lines:
        assert len(line) <= LOGGED_LINE_LIMIT, f"a log line of {len(line)} characters"
        for secret in secrets:
            assert secret not in line, line


@pytest.mark.parametrize("probe", PROBES, ids=[probe.id for probe in PROBES])
def test_a_hostile_request_gets_its_status_and_leaks_nothing(
        probe, client, tokens, store, item, log_lines):
    path = probe.path.replace("{store}", str(store["id"])).replace("{item}", str(item["id"]))
    body = probe.body.replace(b"{store}", str(store["id"]).encode()) if probe.body else None
    headers = {**probe.headers}
    if probe.authenticated:
        headers.update(bearer(tokens["access_token"]))
    response = client.request(probe.method, f"{API}{path}", content=body, headers=headers)
    problem = assert_problem(response, probe.status)
    assert SECRET not in problem["detail"]
    assert len(problem["detail"]) < 300
    assert_log_is_clean(log_lines, SECRET, tokens["access_token"], tokens["refresh_token"])


def test_a_media_type_is_matched_regardless_of_case(client, user):
    response = client.post(f"{API}/auth/login", content=f"username=alice&password={PASSWORD}",
                           headers={"Content-Type": "Application/X-WWW-Form-Urlencoded"})
    assert response.status_code == 200, response.text
    response = client.post(f"{API}/auth/login",
                           content=json.dumps({"username": "alice", "password": PASSWORD}),
                           headers={"Content-Type": "APPLICATION/JSON; Charset=UTF-8"})
    assert response.status_code == 200, response.text


def test_a_body_without_content_length_is_read(client, auth):
    """What curl sends with Transfer-Encoding: chunked."""
    chunks = iter([b'{"name": ', b'"Chunked Shop"}'])
    response = client.post(f"{API}/stores", content=chunks, headers={**auth, **JSON})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Chunked Shop"


def test_an_empty_body_where_one_is_required_is_400(client, auth):
    response = client.post(f"{API}/stores", content=iter([b""]), headers={**auth, **JSON})
    assert_problem(response, 400, "required")


def test_a_chunked_body_over_the_limit_is_413(client, auth, services):
    chunk = b" " * 65_536
    chunks = iter([b'{"name": "x"'] + [chunk] * 8 + [b"}"])
    response = client.post(f"{API}/stores", content=chunks, headers={**auth, **JSON})
    assert_problem(response, 413, str(services.settings.max_body_bytes))


def test_json_nested_to_the_limit_is_read(client, auth):
    # Within the depth limit the body is judged by its schema, not refused unread.
    response = client.post(f"{API}/stores", content=nested(MAX_DEPTH - 1), headers={**auth, **JSON})
    assert_problem(response, 400, "'name' does not satisfy type string")


def test_a_price_is_never_rounded_and_has_one_spelling(client, auth, store):
    for text in ('"19.990000000000000000000000000000000001"', '"0.001"', '"5e-3"', '"-0"',
                 '"-0.00"', '"1.10E+1"', '"+1"', '"1.5 "'):
        body = f'{{"name": "a", "price": {text}, "store_id": {store["id"]}}}'
        response = client.post(f"{API}/items", content=body, headers={**auth, **JSON})
        detail = assert_problem(response, 400)["detail"]
        assert detail.startswith(("'price' does not satisfy pattern (a decimal from 0",
                                  "'price' does not satisfy maxLength 13")), detail
    for text in ("19.99", "-0.0", "1.10E+1"):  # a JSON number, however exact
        body = f'{{"name": "a", "price": {text}, "store_id": {store["id"]}}}'
        response = client.post(f"{API}/items", content=body, headers={**auth, **JSON})
        assert_problem(response, 400, "'price' does not satisfy type string")
    body = f'{{"name": "free", "price": "0", "store_id": {store["id"]}}}'
    created = client.post(f"{API}/items", content=body, headers={**auth, **JSON})
    assert created.status_code == 201, created.text
    assert '"price":"0.00"' in created.text
    read = client.get(f"{API}/items/{created.json()['id']}", headers=auth)
    assert '"price":"0.00"' in read.text


@pytest.mark.parametrize("text", ["1e0", "1.5e1", "1.0", "10E-1"])
def test_an_id_written_with_a_fraction_or_an_exponent_is_not_an_integer(client, auth, store, text):
    # Draft 4's integer has neither; jsonschema-rs, which checks bodies first,
    # reads 1.5e1 as the integer 15 unless the parser keeps it a fraction.
    body = f'{{"name": "a", "price": "1", "store_id": {text}}}'
    response = client.post(f"{API}/items", content=body, headers={**auth, **JSON})
    assert_problem(response, 400, "'store_id' does not satisfy type integer")


def test_names_are_one_name_in_any_normalisation(client, auth):
    composed, decomposed = "Caf\u00e9", unicodedata.normalize("NFD", "Caf\u00e9")
    assert composed != decomposed
    created = client.post(f"{API}/stores", json={"name": decomposed}, headers=auth)
    assert created.status_code == 201
    assert created.json()["name"] == composed
    assert_problem(client.post(f"{API}/stores", json={"name": composed}, headers=auth), 409)


def test_search_ignores_case_beyond_ascii(client, auth, store):
    client.post(f"{API}/stores", json={"name": "CAF\u00c9 STRASSE"}, headers=auth)
    client.post(f"{API}/items", json={"name": "\u00c9CLAIR", "price": "1", "store_id": store["id"]},
                headers=auth)
    for query in ("caf\u00e9", "CAF\u00c9", "Cafe\u0301", "stra\u00dfe"):
        found = client.get(f"{API}/stores", params={"name": query}, headers=auth).json()["data"]
        assert [s["name"] for s in found] == ["CAF\u00c9 STRASSE"], query
    found = client.get(f"{API}/items", params={"name": "\u00e9clair"}, headers=auth).json()["data"]
    assert [i["name"] for i in found] == ["\u00c9CLAIR"]
    found = client.get(f"{API}/stores", params={"name": "100%"}, headers=auth).json()["data"]
    assert found == []


def test_links_are_built_from_the_server_not_the_host_header(client, auth, db, store):
    for n in range(3):
        client.post(f"{API}/stores", json={"name": f"shop {n}"}, headers=auth)
    for hostile in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"},
                    {"Forwarded": "host=evil.example"}):
        response = client.get(f"{API}/stores?limit=1", headers={**auth, **hostile})
        assert response.status_code == 200
        assert "evil.example" not in response.headers["link"]
        assert response.headers["link"].startswith("<http://testserver/api/v1/stores?")
        redirect = client.get(f"{API}/stores/", headers={**auth, **hostile},
                              follow_redirects=False)
        assert "evil.example" not in redirect.headers.get("location", "")


def test_public_url_makes_the_links(app_with, auth):
    from tests.conftest import create

    app = app_with(public_url="https://shop.example")
    with app.test_client() as client:
        for n in range(2):
            create(client, auth, "/stores", {"name": f"shop {n}"})
        response = client.get(f"{API}/stores?limit=1", headers={**auth, "Host": "evil.example"})
    assert response.headers["link"].startswith("<https://shop.example/api/v1/stores?")


def forged_token(services, tokens, **claims) -> str:
    original = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    return jwt.encode({**original, **claims}, services.tokens.secret_key, algorithm="HS256")


@pytest.mark.parametrize("claims", [
    {"sub": "\u00b2"}, {"sub": "9" * 400}, {"sub": "2147483648"},
    {"sub": "01"}, {"sub": 3}, {"sid": ["a", "b"]}, {"jti": {"x": 1}}, {"type": ["access"]},
    {"fresh": "yes"}, {"scope": ["admin"]},
], ids=lambda claims: "-".join(f"{k}={v!r}"[:24] for k, v in claims.items()))
def test_a_token_signed_with_our_key_but_odd_claims_is_401(client, services, tokens, claims):
    token = forged_token(services, tokens, **claims)
    assert_unauthorized(client.get(f"{API}/users/me", headers=bearer(token)))


def test_a_user_id_in_other_digits_names_nobody(client, services, tokens, user):
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in str(user.id))
    token = forged_token(services, tokens, sub=arabic_indic)
    assert_unauthorized(client.get(f"{API}/users/me", headers=bearer(token)))


def test_api_answers_are_not_stored_or_sniffed(client, auth, tokens, store):
    for response in (
        client.get(f"{API}/stores/{store['id']}", headers=auth),
        client.post(f"{API}/auth/login", json={"username": "alice", "password": PASSWORD}),
        client.get(f"{API}/nothing-here"),
        client.get(f"{API}/health"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "Authorization" in response.headers["vary"]


def test_the_docs_page_forbids_framing_and_foreign_sources(client):
    response = client.get(f"{API}/ui/")
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "http" not in policy
    assert "'sha256-" in policy  # the page's own inline script, by its hash
    asset = client.get(f"{API}/ui/swagger-ui-bundle.js")
    assert asset.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("value", [b"application/json\n", b"text/plain\r\nX-Evil: 1", b"a/b\x7f"])
def test_a_content_type_no_http_client_would_send_is_not_a_media_type(value):
    # Servers other than uvicorn may pass bytes its parser refuses.
    from connexion.exceptions import ProblemException

    from api.policies.request_guard import _normalised_content_type

    with pytest.raises(ProblemException) as refused:
        _normalised_content_type(value, has_body=True)
    assert refused.value.status == 400


@pytest.mark.parametrize("name", ["Café", "👩\u200d💻 Lab", "Ünïcödé Shop", "a\u00a0b"])
def test_visible_names_with_joiners_and_spaces_are_fine(client, tokens, name):
    response = client.post(f"{API}/stores", json={"name": name}, headers=bearer(tokens["access_token"]))
    assert response.status_code == 201, response.text


def test_an_invisible_name_is_refused_with_the_rule_not_the_pattern(client, tokens):
    response = client.post(f"{API}/stores", json={"name": "\u200b"}, headers=bearer(tokens["access_token"]))
    problem = assert_problem(response, 400)
    assert problem["detail"] == ("'name' does not satisfy pattern (no control or bidirectional "
                                 "characters, not blank or invisible)")


# U+FB2C is one character and three in NFC; "a" + U+0308 is two and one.
GROWS_IN_NFC = "\ufb2c" * 80


@pytest.mark.parametrize(("path", "body"), [
    ("/stores", {}),
    ("/items", {"price": "1", "store_id": "{store}"}),
    ("/stores/{store}/tags", {}),
], ids=["store", "item", "tag"])
def test_a_name_is_measured_as_it_is_stored(client, auth, store, path, body):
    """Checked on the text as sent, 80 x U+FB2C was 240 characters stored:
    a 500 on PostgreSQL. The NFC form is what is measured as well."""
    url = API + path.replace("{store}", str(store["id"]))
    body = {key: store["id"] if value == "{store}" else value for key, value in body.items()}
    assert unicodedata.normalize("NFC", GROWS_IN_NFC) != GROWS_IN_NFC
    problem = assert_problem(client.post(url, json={**body, "name": GROWS_IN_NFC}, headers=auth), 400)
    assert problem["detail"] == ("'name' does not satisfy maxLength 80 in NFC, "
                                 "the form it is stored in")
    shrinks = "a\u0308" * 40  # 80 as sent, 40 as stored
    created = client.post(url, json={**body, "name": shrinks}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "\u00e4" * 40


def test_a_name_is_refused_as_it_will_be_stored_when_it_is_replaced(client, auth, store):
    response = client.put(f"{API}/stores/{store['id']}", json={"name": GROWS_IN_NFC}, headers=auth)
    assert_problem(response, 400, "maxLength 80 in NFC")


@pytest.mark.parametrize("name", [
    "\U000e0041\U000e0042",  # tag characters
    " \U000e0020\U000e007f ",
    "\U0001bca0\U0001d173",
    "\u200b\U000e0001",
])
def test_a_name_invisible_beyond_the_basic_plane_is_refused(client, auth, name):
    problem = assert_problem(client.post(f"{API}/stores", json={"name": name}, headers=auth), 400)
    assert problem["detail"] == ("'name' does not satisfy at least one character neither "
                                 "whitespace nor invisible")


def test_tag_characters_after_a_visible_one_are_fine(client, auth):
    flag = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland
    response = client.post(f"{API}/stores", json={"name": f"{flag} Shop"}, headers=auth)
    assert response.status_code == 201, response.text

"""PdokGeocoder against hand-shaped Locatieserver v3.1 responses (``fixtures/pdok``).

No network: every request goes to an ``httpx.MockTransport`` that records it, so the tests
check what is SENT as well as how the answer is read. No real sleeping either: the sleep
function (and, for the rate limiter, the clock) is a fake.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.geo.geocoding import AddressQuery, Geocoder, GeocoderError, GeocodeResult
from app.geo.pdok import (
    DEFAULT_BASE_URL,
    FIELDS,
    USER_AGENT,
    PdokGeocoder,
    parse_centroid,
    split_address_line,
)

FIXTURES = Path(__file__).parent / "fixtures" / "pdok"
BASE_PATH = "/bzk/locatieserver/search/v3_1"
GEMEENTEHUIS = AddressQuery("Laan van Meerwijk 16", postal_code="1423 AB", city="Uithoorn")

Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def reply(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture(name))


def envelope(*docs: dict[str, Any]) -> dict[str, Any]:
    return {
        "response": {
            "numFound": len(docs),
            "start": 0,
            "maxScore": 10.0,
            "numFoundExact": True,
            "docs": list(docs),
        }
    }


def address_doc(
    street: str,
    number: int,
    postcode: str = "1421AB",
    place: str = "Uithoorn",
    *,
    letter: str | None = None,
    point: str = "POINT(4.83 52.235)",
) -> dict[str, Any]:
    nlt = f"{number}{letter or ''}"
    doc: dict[str, Any] = {
        "type": "adres",
        "weergavenaam": f"{street} {nlt}, {postcode} {place}",
        "id": f"adr-{number:032x}",
        "postcode": postcode,
        "woonplaatsnaam": place,
        "gemeentecode": "0451",
        "gemeentenaam": "Uithoorn",
        "straatnaam": street,
        "huisnummer": number,
        "huis_nlt": nlt,
        "centroide_ll": point,
        "score": 10.0,
    }
    if letter:
        doc["huisletter"] = letter
    return doc


class FakeTime:
    """A clock that only moves when slept on (unless frozen); records every sleep."""

    def __init__(self, start: float = 1000.0, *, frozen: bool = False) -> None:
        self.now = start
        self.frozen = frozen
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if not self.frozen:
                self.now += seconds


class Recorder:
    """MockTransport handler: records requests, answers from a list or a function."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


def make(
    recorder: Recorder, fake: FakeTime | None = None, **kwargs: Any
) -> tuple[PdokGeocoder, FakeTime]:
    fake = fake or FakeTime()
    kwargs.setdefault("min_interval_s", 0.0)
    geocoder = PdokGeocoder(
        transport=httpx.MockTransport(recorder), sleep=fake.sleep, clock=fake.clock, **kwargs
    )
    return geocoder, fake


# -- requests ------------------------------------------------------------------------------


def test_free_request_sends_only_the_address() -> None:
    recorder = Recorder(reply("uithoorn_exact.json"))
    geocoder, _ = make(recorder)
    with geocoder:
        geocoder.geocode(GEMEENTEHUIS)

    [request] = recorder.requests
    assert request.method == "GET"
    assert request.url.scheme == "https"
    assert request.url.host == "api.pdok.nl"
    assert request.url.path == f"{BASE_PATH}/free"
    params = request.url.params
    assert sorted(params.keys()) == ["fl", "fq", "q", "rows"]
    assert all(len(params.get_list(key)) == 1 for key in params)
    assert params["q"] == "Laan van Meerwijk 16 1423 AB Uithoorn"
    assert params["fq"] == "type:adres"
    assert params["rows"] == "5"
    assert params["fl"].split() == [
        "id",
        "weergavenaam",
        "type",
        "score",
        "centroide_ll",
        "postcode",
        "woonplaatsnaam",
        "gemeentecode",
        "gemeentenaam",
        "wijkcode",
        "wijknaam",
        "buurtcode",
        "buurtnaam",
        "straatnaam",
        "huisnummer",
        "huisletter",
        "huisnummertoevoeging",
        "huis_nlt",
    ]
    assert params["fl"] == FIELDS
    assert request.content == b""
    assert request.headers["User-Agent"] == USER_AGENT
    assert "sociale-kaart" in USER_AGENT
    assert "authorization" not in request.headers
    assert "cookie" not in request.headers


def test_query_text_skips_blanks_and_never_carries_extra_fields() -> None:
    recorder = Recorder(reply("not_found.json"))
    geocoder, _ = make(recorder)
    with geocoder:
        geocoder.geocode(
            AddressQuery(
                "  Laan  van Meerwijk 16 ",
                postal_code="  ",
                city="Uithoorn",
                municipality_name="Uithoorn",
            )
        )
        geocoder.geocode(AddressQuery("Laan van Meerwijk 16", postal_code="1423AB"))
    assert [r.url.params["q"] for r in recorder.requests] == [
        "Laan van Meerwijk 16 Uithoorn",
        "Laan van Meerwijk 16 1423AB",
    ]


def test_custom_base_url() -> None:
    recorder = Recorder(reply("not_found.json"))
    geocoder, _ = make(recorder, base_url="http://pdok.test/ls/v3_1/")
    with geocoder:
        geocoder.geocode(GEMEENTEHUIS)
    assert str(recorder.requests[0].url).startswith("http://pdok.test/ls/v3_1/free?")


def test_without_any_place_nothing_is_asked() -> None:
    recorder = Recorder(reply("uithoorn_exact.json"))
    geocoder, _ = make(recorder)
    with geocoder:
        assert geocoder.geocode(AddressQuery("Laan van Meerwijk 16")) is None
        assert geocoder.geocode(AddressQuery("  ", city="Uithoorn")) is None
    assert recorder.requests == []


# -- reading the answer --------------------------------------------------------------------


def test_exact_address_with_wijk_and_buurt() -> None:
    geocoder, _ = make(Recorder(reply("uithoorn_exact.json")))
    with geocoder:
        result = geocoder.geocode(GEMEENTEHUIS)
    assert result == GeocodeResult(
        latitude=52.23712307,
        longitude=4.82612964,
        display_name="Laan van Meerwijk 16, 1423AB Uithoorn",
        postal_code="1423AB",
        city="Uithoorn",
        municipality_code="0451",
        municipality_name="Uithoorn",
        neighbourhood_code="WK045104",
        neighbourhood_name="Wijk 04 Meerwijk",
        district_code="BU04510401",
        district_name="Meerwijk-Oost",
    )


def test_longitude_comes_first_in_centroide_ll() -> None:
    geocoder, _ = make(Recorder(reply("uithoorn_exact.json")))
    with geocoder:
        result = geocoder.geocode(GEMEENTEHUIS)
    assert result is not None
    # POINT(4.82612964 52.23712307): x = longitude, y = latitude
    assert (result.latitude, result.longitude) == (52.23712307, 4.82612964)


def test_de_kwakel_prefers_the_number_without_letter() -> None:
    recorder = Recorder(reply("de_kwakel.json"))
    geocoder, _ = make(recorder)
    query = AddressQuery("Kerklaan 16", postal_code="1424 pb", city="De Kwakel")
    with geocoder:
        result = geocoder.geocode(query)
        with_letter = geocoder.geocode(AddressQuery("Kerklaan 16a", postal_code="1424PB"))
    assert result is not None
    assert result.display_name == "Kerklaan 16, 1424PB De Kwakel"
    assert (result.latitude, result.longitude) == (52.23934172, 4.79418706)
    assert result.city == "De Kwakel"
    assert result.municipality_name == "Uithoorn"
    assert result.municipality_code == "0451"
    assert result.neighbourhood_code == "WK045106"
    assert result.district_code == "BU04510601"
    assert with_letter is not None
    assert with_letter.display_name == "Kerklaan 16A, 1424PB De Kwakel"
    assert recorder.requests[0].url.params["q"] == "Kerklaan 16 1424 pb De Kwakel"


def test_the_right_doc_is_picked_not_pdoks_first() -> None:
    recorder = Recorder(reply("second_doc_match.json"))
    geocoder, _ = make(recorder)
    with geocoder:
        by_postcode = geocoder.geocode(AddressQuery("Molenlaan 63", postal_code="1422 XN"))
        by_city = geocoder.geocode(AddressQuery("Molenlaan 63", city="uithoorn"))
        other_number = geocoder.geocode(AddressQuery("Molenlaan 61", city="Uithoorn"))
        by_municipality = geocoder.geocode(
            AddressQuery("Molenlaan 63", municipality_name="Aalsmeer")
        )
        by_pc4 = geocoder.geocode(AddressQuery("Molenlaan 63", postal_code="1422"))
    assert fixture("second_doc_match.json")["response"]["docs"][0]["postcode"] == "1431CH"
    assert by_postcode is not None
    assert by_postcode.display_name == "Molenlaan 63, 1422XN Uithoorn"
    assert (by_postcode.latitude, by_postcode.longitude) == (52.23327419, 4.8321488)
    assert by_city == by_postcode
    assert other_number is not None
    assert other_number.display_name == "Molenlaan 61, 1422XN Uithoorn"
    assert by_municipality is not None
    assert by_municipality.display_name == "Molenlaan 63, 1431CH Aalsmeer"
    assert by_pc4 == by_postcode  # a bare PC4 fixes the area by its four digits
    # Without city, the gemeente is the place in q.
    assert recorder.requests[3].url.params["q"] == "Molenlaan 63 Aalsmeer"


@pytest.mark.parametrize(
    "query",
    [
        AddressQuery("Molenlaan 65", postal_code="1422XN"),  # no such number
        AddressQuery("Molenlaan 63", postal_code="1422XP"),  # other postcode
        AddressQuery("Molenlaan 63", postal_code="1423"),  # other PC4
        AddressQuery("Molenlaan 63", city="Amstelveen"),  # other place
        AddressQuery("Molendijk 63", postal_code="1422XN"),  # other street
    ],
)
def test_no_doc_that_is_the_address_means_not_found(query: AddressQuery) -> None:
    geocoder, _ = make(Recorder(reply("second_doc_match.json")))
    with geocoder:
        assert geocoder.geocode(query) is None


def test_not_found() -> None:
    recorder = Recorder(reply("not_found.json"))
    geocoder, _ = make(recorder)
    with geocoder:
        assert geocoder.geocode(AddressQuery("Nergensweg 1", city="Uithoorn")) is None
    assert len(recorder.requests) == 1


def test_doc_without_centroid_is_looked_up() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/free"):
            return reply("no_centroid.json")
        return reply("no_centroid_lookup.json")

    recorder = Recorder(route)
    geocoder, _ = make(recorder)
    with geocoder:
        result = geocoder.geocode(
            AddressQuery("Marktplein 65", postal_code="1421 AC", city="Uithoorn")
        )

    assert [r.url.path for r in recorder.requests] == [f"{BASE_PATH}/free", f"{BASE_PATH}/lookup"]
    lookup = recorder.requests[1].url.params
    assert sorted(lookup.keys()) == ["fl", "id"]
    assert lookup["id"] == fixture("no_centroid.json")["response"]["docs"][0]["id"]
    assert lookup["id"].startswith("adr-")
    assert lookup["fl"] == FIELDS
    assert result is not None
    assert (result.latitude, result.longitude) == (52.2394421, 4.82977453)
    assert result.display_name == "Marktplein 65, 1421AC Uithoorn"
    assert result.neighbourhood_code == "WK045101"


def test_lookup_without_answer_is_not_found() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/free"):
            return reply("no_centroid.json")
        return reply("not_found.json")

    geocoder, _ = make(Recorder(route))
    with geocoder:
        assert geocoder.geocode(AddressQuery("Marktplein 65", postal_code="1421AC")) is None


def test_missing_wijk_and_buurt_are_none() -> None:
    geocoder, _ = make(Recorder(reply("no_wijk_buurt.json")))
    with geocoder:
        # Accents, case, dots and spacing of the street name do not matter.
        result = geocoder.geocode(AddressQuery("koningin  maximalaan 30", postal_code="1421 LC"))
    assert result is not None
    assert result.display_name == "Koningin Máximalaan 30, 1421LC Uithoorn"
    assert result.postal_code == "1421LC"
    assert result.municipality_code == "0451"
    assert result.neighbourhood_code is None
    assert result.neighbourhood_name is None
    assert result.district_code is None
    assert result.district_name is None


def test_street_with_dots_and_spacing_matches() -> None:
    doc = address_doc("J.P. Sweelinckweg", 12)
    geocoder, _ = make(Recorder(httpx.Response(200, json=envelope(doc))))
    with geocoder:
        assert geocoder.geocode(AddressQuery("JP Sweelinckweg 12", city="Uithoorn")) is not None
        assert geocoder.geocode(AddressQuery("J.P.Sweelinckweg 12", city="Uithoorn")) is not None
        assert geocoder.geocode(AddressQuery("Sweelinckweg 12", city="Uithoorn")) is None


@pytest.mark.parametrize(
    "point",
    [
        "POINT(52.235 4.83)",  # lat/lon swapped
        "POINT(2.35 48.86)",  # Paris
        "POINT EMPTY",
        "POINT(4.83)",
        "POINT(4.83 52.235 1.0)",
        "POINT(nan 52.235)",
        "",
    ],
)
def test_unusable_coordinates_make_the_doc_unusable(point: str) -> None:
    doc = address_doc("Dorpsstraat", 5, point=point)
    recorder = Recorder(httpx.Response(200, json=envelope(doc)))
    geocoder, _ = make(recorder)
    with geocoder:
        assert geocoder.geocode(AddressQuery("Dorpsstraat 5", city="Uithoorn")) is None
    assert len(recorder.requests) == 1  # present but unusable: no lookup


def test_unusable_first_match_falls_through_to_the_next() -> None:
    docs = (
        address_doc("Dorpsstraat", 5, point="POINT(52.235 4.83)"),
        address_doc("Dorpsstraat", 5, point="POINT(4.831 52.236)"),
    )
    geocoder, _ = make(Recorder(httpx.Response(200, json=envelope(*docs))))
    with geocoder:
        result = geocoder.geocode(AddressQuery("Dorpsstraat 5", city="Uithoorn"))
    assert result is not None
    assert (result.latitude, result.longitude) == (52.236, 4.831)


def test_house_letter_is_preferred_but_pdok_order_kept_otherwise() -> None:
    docs = (
        address_doc("Dorpsstraat", 5, point="POINT(4.80 52.20)"),
        address_doc("Dorpsstraat", 5, letter="A", point="POINT(4.81 52.21)"),
    )
    geocoder, _ = make(Recorder(httpx.Response(200, json=envelope(*docs))))
    with geocoder:
        lettered = geocoder.geocode(AddressQuery("Dorpsstraat 5a", city="Uithoorn"))
        plain = geocoder.geocode(AddressQuery("Dorpsstraat 5", city="Uithoorn"))
        other_letter = geocoder.geocode(AddressQuery("Dorpsstraat 5 b", city="Uithoorn"))
    assert lettered is not None
    assert lettered.longitude == 4.81
    assert plain is not None
    assert plain.longitude == 4.80
    assert other_letter is not None
    assert other_letter.longitude == 4.80


def test_non_address_docs_are_ignored() -> None:
    doc = address_doc("Dorpsstraat", 5) | {"type": "postcode"}
    geocoder, _ = make(Recorder(httpx.Response(200, json=envelope(doc))))
    with geocoder:
        assert geocoder.geocode(AddressQuery("Dorpsstraat 5", city="Uithoorn")) is None


# -- parsing helpers -----------------------------------------------------------------------


def test_parse_centroid() -> None:
    point = parse_centroid("POINT(4.82612964 52.23712307)")
    assert point is not None
    assert point.latitude == 52.23712307
    assert point.longitude == 4.82612964
    assert parse_centroid(" point ( 4.8 52.2 ) ") == (52.2, 4.8)
    assert parse_centroid("POINT(5e0 5.22e1)") == (52.2, 5.0)
    assert parse_centroid("POINT(52.2 4.8)") is None
    assert parse_centroid("POINT(4.8, 52.2)") is None
    assert parse_centroid(None) is None
    assert parse_centroid([4.8, 52.2]) is None


@pytest.mark.parametrize(
    ("line", "street", "number", "suffix"),
    [
        ("Laan van Meerwijk 16", "Laan van Meerwijk", 16, ""),
        ("Dorpsstraat 5a", "Dorpsstraat", 5, "a"),
        ("Dorpsstraat 5 A", "Dorpsstraat", 5, "a"),
        ("Dorpsstraat 12-2", "Dorpsstraat", 12, "2"),
        ("2e Hugo de Grootstraat 5", "2e Hugo de Grootstraat", 5, ""),
        ("Dorpsstraat", "Dorpsstraat", None, ""),
        ("  Kerklaan   16 ", "Kerklaan", 16, ""),
    ],
)
def test_split_address_line(line: str, street: str, number: int | None, suffix: str) -> None:
    parsed = split_address_line(line)
    assert (parsed.street, parsed.number, parsed.suffix) == (street, number, suffix)


# -- errors and retries --------------------------------------------------------------------


def test_retries_on_503_with_exponential_backoff_then_succeeds() -> None:
    recorder = Recorder(
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(500),
        reply("uithoorn_exact.json"),
    )
    geocoder, fake = make(recorder)
    with geocoder:
        result = geocoder.geocode(GEMEENTEHUIS)
    assert result is not None
    assert len(recorder.requests) == 4
    assert fake.sleeps == [0.5, 1.0, 2.0]
    # Every attempt is the same request.
    assert len({str(r.url) for r in recorder.requests}) == 1


def test_retries_on_timeouts_and_connection_errors() -> None:
    recorder = Recorder(
        httpx.ConnectTimeout("timed out"),
        httpx.ConnectError("refused"),
        reply("uithoorn_exact.json"),
    )
    geocoder, fake = make(recorder, backoff_s=0.25)
    with geocoder:
        assert geocoder.geocode(GEMEENTEHUIS) is not None
    assert fake.sleeps == [0.25, 0.5]


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "7", 7.0),
        (503, "2.5", 2.5),
        (429, "120", 30.0),  # capped
        (429, "0", 0.5),  # never less than the backoff
        (503, "Wed, 21 Oct 2015 07:28:00 GMT", 0.5),  # not numeric: backoff
        (429, "-3", 0.5),
        (502, "9", 0.5),  # only on 429/503
    ],
)
def test_retry_after_is_honoured(status: int, retry_after: str, expected: float) -> None:
    recorder = Recorder(
        httpx.Response(status, headers={"Retry-After": retry_after}),
        reply("uithoorn_exact.json"),
    )
    geocoder, fake = make(recorder)
    with geocoder:
        assert geocoder.geocode(GEMEENTEHUIS) is not None
    assert fake.sleeps == [expected]


def test_error_after_exhausting_retries() -> None:
    recorder = Recorder(httpx.Response(503))
    geocoder, fake = make(recorder, retries=2)
    with geocoder, pytest.raises(GeocoderError, match=r"failed 3 times.*HTTP 503"):
        geocoder.geocode(GEMEENTEHUIS)
    assert len(recorder.requests) == 3
    assert fake.sleeps == [0.5, 1.0]


def test_error_after_timeouts() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))
    geocoder, fake = make(recorder)
    with geocoder, pytest.raises(GeocoderError, match="ReadTimeout"):
        geocoder.geocode(GEMEENTEHUIS)
    assert len(recorder.requests) == 4
    assert fake.sleeps == [0.5, 1.0, 2.0]


def test_no_retries_means_one_attempt() -> None:
    recorder = Recorder(httpx.Response(503))
    geocoder, fake = make(recorder, retries=0)
    with geocoder, pytest.raises(GeocoderError):
        geocoder.geocode(GEMEENTEHUIS)
    assert len(recorder.requests) == 1
    assert fake.sleeps == []


@pytest.mark.parametrize("status", [400, 403, 404, 410, 301])
def test_client_errors_are_not_retried(status: int) -> None:
    recorder = Recorder(httpx.Response(status, json={"title": "Bad Request", "status": status}))
    geocoder, fake = make(recorder)
    with geocoder, pytest.raises(GeocoderError, match=f"HTTP {status}"):
        geocoder.geocode(GEMEENTEHUIS)
    assert len(recorder.requests) == 1
    assert fake.sleeps == []


def test_invalid_json_is_an_error() -> None:
    recorder = Recorder(
        httpx.Response(200, text="<html>maintenance</html>", headers={"Content-Type": "text/html"})
    )
    geocoder, _ = make(recorder)
    with geocoder, pytest.raises(GeocoderError, match="not valid JSON"):
        geocoder.geocode(GEMEENTEHUIS)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"docs": []},
        {"response": []},
        {"response": {"docs": []}},
        {"response": {"numFound": "1", "docs": []}},
        {"response": {"numFound": 1, "docs": {}}},
        {"response": {"numFound": 1, "docs": ["adr-1"]}},
    ],
)
def test_unexpected_shape_is_an_error(payload: object) -> None:
    geocoder, _ = make(Recorder(httpx.Response(200, json=payload)))
    with geocoder, pytest.raises(GeocoderError, match="unexpected response"):
        geocoder.geocode(GEMEENTEHUIS)


# -- rate limit ----------------------------------------------------------------------------


def test_two_calls_in_a_row_wait_min_interval() -> None:
    recorder = Recorder(reply("uithoorn_exact.json"))
    geocoder, fake = make(recorder, min_interval_s=0.2)
    with geocoder:
        geocoder.geocode(GEMEENTEHUIS)
        assert fake.sleeps == []  # the first request goes at once
        geocoder.geocode(GEMEENTEHUIS)
        assert fake.sleeps == [pytest.approx(0.2)]
        fake.now += 5.0  # a quiet while later: no wait
        geocoder.geocode(GEMEENTEHUIS)
        assert fake.sleeps == [pytest.approx(0.2)]
        fake.now += 0.15  # partly waited already
        geocoder.geocode(GEMEENTEHUIS)
    assert fake.sleeps == [pytest.approx(0.2), pytest.approx(0.05)]


def test_rate_limit_also_spaces_lookups_and_retries() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/free"):
            return reply("no_centroid.json")
        return reply("no_centroid_lookup.json")

    geocoder, fake = make(Recorder(route), min_interval_s=0.2)
    with geocoder:
        geocoder.geocode(AddressQuery("Marktplein 65", postal_code="1421AC"))
    assert fake.sleeps == [pytest.approx(0.2)]


def test_rate_limit_is_thread_safe() -> None:
    fake = FakeTime(frozen=True)
    geocoder, _ = make(Recorder(reply("not_found.json")), fake, min_interval_s=0.2)
    barrier = threading.Barrier(5)

    def work() -> None:
        barrier.wait()
        geocoder.geocode(GEMEENTEHUIS)

    threads = [threading.Thread(target=work) for _ in range(5)]
    with geocoder:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # Five requests at the same instant get five distinct slots 0.2 s apart.
    assert sorted(fake.sleeps) == pytest.approx([0.2, 0.4, 0.6, 0.8])


# -- misc ----------------------------------------------------------------------------------


def test_is_a_geocoder_with_defaults() -> None:
    geocoder: Geocoder = PdokGeocoder()
    assert geocoder.name == "pdok"
    assert isinstance(geocoder, PdokGeocoder)
    assert geocoder.base_url == DEFAULT_BASE_URL
    assert (geocoder.retries, geocoder.backoff_s, geocoder.min_interval_s) == (3, 0.5, 0.2)
    geocoder.close()


def test_close_closes_the_client() -> None:
    recorder = Recorder(reply("not_found.json"))
    geocoder, _ = make(recorder)
    geocoder.close()
    with pytest.raises(RuntimeError):
        geocoder.geocode(GEMEENTEHUIS)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout_s": 0}, {"retries": -1}, {"backoff_s": -0.1}, {"min_interval_s": -1}],
)
def test_invalid_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        PdokGeocoder(**kwargs)

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.checksums import table_checksums

# (path, query parameters, the parameter the answer must name)
BAD_REQUESTS = [
    ("/api/plots", {"bbox": "1,2,3"}, "bbox"),
    ("/api/plots", {"bbox": "1,2,3,4,5"}, "bbox"),
    ("/api/plots", {"bbox": "a,b,c,d"}, "bbox"),
    ("/api/plots", {"bbox": ""}, "bbox"),
    ("/api/plots", {"bbox": "112,29,111,28"}, "bbox"),  # reversed
    ("/api/plots", {"bbox": "111,28.7,112,28.0"}, "bbox"),  # north < south
    ("/api/plots", {"bbox": "111,28,111,29"}, "bbox"),  # zero width
    ("/api/plots", {"bbox": "nan,28,112,29"}, "bbox"),
    ("/api/plots", {"bbox": "111,28,inf,29"}, "bbox"),
    ("/api/plots", {"bbox": "1e400,28,112,29"}, "bbox"),
    ("/api/plots", {"bbox": "-181,28,112,29"}, "bbox"),
    ("/api/plots", {"bbox": "111,-91,112,29"}, "bbox"),
    ("/api/plots", {"bbox": "111,28,112,29\x00"}, "bbox"),
    ("/api/plots", {"limit": "1000000000000000000000000"}, "limit"),
    ("/api/plots", {"limit": "1001"}, "limit"),
    ("/api/plots", {"limit": "0"}, "limit"),
    ("/api/plots", {"limit": "-5"}, "limit"),
    ("/api/plots", {"limit": "ten"}, "limit"),
    ("/api/plots", {"limit": "1.5"}, "limit"),
    ("/api/plots", {"offset": "-1"}, "offset"),
    ("/api/plots", {"offset": "99999999999999999999"}, "offset"),
    ("/api/plots", {"offset": "x"}, "offset"),
    ("/api/plots", {"include_retired": "maybe"}, "include_retired"),
    ("/api/plots", {"q": "茶\x00园"}, "q"),
    ("/api/plots", {"q": "x" * 101}, "q"),
    ("/api/plots", {"village": "4309\x00"}, "village"),
    ("/api/plots", {"code": "c" * 65}, "code"),
    ("/api/plots", {"cooperative": "\x00"}, "cooperative"),
    ("/api/plots", {"lang": "x" * 40}, "lang"),
    ("/api/plots/abc", {}, "plot_id"),
    ("/api/plots/1.5", {}, "plot_id"),
    ("/api/plots/0", {}, "plot_id"),
    ("/api/plots/-1", {}, "plot_id"),
    ("/api/plots/99999999999999999999", {}, "plot_id"),
    ("/api/plots/9223372036854775808", {}, "plot_id"),
    ("/api/admin-units", {"level": "city"}, "level"),
    ("/api/admin-units", {"geometry": "perhaps"}, "geometry"),
    ("/api/admin-units", {"parent": "43\x00"}, "parent"),
    ("/api/admin-units", {"limit": "100000"}, "limit"),
    ("/api/admin-units", {"offset": "-3"}, "offset"),
    ("/api/admin-units/" + "9" * 40, {}, "code"),
    ("/api/admin-units/43%00", {}, "code"),
]


def test_bad_requests_get_4xx_naming_the_parameter_and_the_service_keeps_answering(
    client: TestClient, world
):
    before = table_checksums(world)
    failures = []
    for path, params, name in BAD_REQUESTS:
        for lang in ("zh-CN", "en"):
            response = client.get(
                path, params={**params, "lang": lang} if name != "lang" else params
            )
            body = response.json()
            if not 400 <= response.status_code < 500 or name not in body.get("detail", ""):
                failures.append((path, params, lang, response.status_code, body))
    assert failures == []
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/plots").json()["numberMatched"] == 7
    assert table_checksums(world) == before


def test_bad_bbox_message_names_the_value_in_both_languages(client: TestClient):
    zh = client.get("/api/plots", params={"bbox": "112,29,111,28"}).json()["detail"]
    en = client.get("/api/plots", params={"bbox": "112,29,111,28", "lang": "en"}).json()
    assert zh == "参数 bbox 的值“112,29,111,28”无效：须满足 west < east 且 south < north"
    assert en["detail"] == (
        "Invalid value “112,29,111,28” for parameter bbox: needs west < east and south < north"
    )
    assert en["error"] == "InvalidParameterValue"


def test_validation_reasons_are_translated(client: TestClient):
    zh = client.get("/api/plots/abc").json()["detail"]
    en = client.get("/api/plots/abc", headers={"Accept-Language": "en"}).json()["detail"]
    assert zh == "参数 plot_id 无效：须为整数"
    assert en == "Invalid parameter plot_id: must be an integer"


@pytest.mark.parametrize("q", ["' OR '1'='1", "1; DELETE FROM plots", "%' --", "\\'"])
def test_sql_like_search_text_is_only_text(client: TestClient, world, q):
    before = table_checksums(world)
    response = client.get("/api/plots", params={"q": q})
    assert response.status_code == 200
    assert response.json()["numberMatched"] == 0
    assert table_checksums(world) == before

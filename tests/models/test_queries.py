from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.errors import InvalidParameter, NotFound
from models.queries import (
    BBox,
    InvalidParameterValue,
    escape_like,
    get_admin_unit,
    get_plot,
    list_admin_units,
    list_plots,
)
from tests.conftest import truncate_all
from tests.service.world import COUNTY, PLOTS, TOWNSHIP_2, build_world, plot_id


@pytest.fixture(scope="module")
def world(engine: Engine) -> Engine:
    truncate_all(engine)
    build_world(engine)
    return engine


@pytest.fixture()
def session(world: Engine):
    with Session(world) as session:
        yield session


def test_bbox_parse_reads_four_numbers_with_spaces():
    assert BBox.parse(" 111.1, 28.2 ,111.3,28.5") == BBox(111.1, 28.2, 111.3, 28.5)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,2,3", "reason_bbox_four"),
        ("1,2,3,4,5", "reason_bbox_four"),
        ("a,b,c,d", "reason_bbox_four"),
        ("nan,1,2,3", "reason_bbox_finite"),
        ("0,0,200,1", "reason_bbox_range"),
        ("0,-95,1,1", "reason_bbox_range"),
        ("2,0,1,1", "reason_bbox_order"),
        ("0,1,1,1", "reason_bbox_order"),
    ],
)
def test_bbox_parse_refuses_with_a_reason(text, reason):
    with pytest.raises(InvalidParameterValue) as caught:
        BBox.parse(text)
    assert isinstance(caught.value, InvalidParameter)
    assert caught.value.params["name"] == "bbox"
    assert caught.value.params["reason"] == "@" + reason
    assert text in caught.value.message("en")


def test_bbox_refuses_infinity_when_built_directly():
    with pytest.raises(InvalidParameterValue):
        BBox(0, 0, math.inf, 1)


def test_invalid_value_message_renders_reason_placeholders():
    error = InvalidParameterValue(
        name="limit", value=5000, reason="@reason_limit_max", maximum=1000
    )
    assert (
        error.message("en")
        == "Invalid value “5000” for parameter limit: at most 1000 items per page"
    )
    assert error.message("zh-CN") == "参数 limit 的值“5000”无效：每页最多 1000 条"


def test_invalid_value_message_shortens_long_values():
    error = InvalidParameterValue(name="q", value="x" * 500, reason="@reason_nul")
    assert len(error.message("en")) < 200


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("50%", "50!%"), ("a_b", "a!_b"), ("!", "!!"), ("茶园", "茶园"), ("%_!", "!%!_!!")],
)
def test_escape_like(text, escaped):
    assert escape_like(text) == escaped


def test_list_plots_counts_all_matches_and_returns_one_page(session):
    page = list_plots(session=session, limit=2, offset=2, include_retired=True)
    assert page.number_matched == len(PLOTS)
    assert [p.id for p in page.items] == [3, 4]
    assert page.has_next


def test_list_plots_by_county_code_walks_down_two_levels(session):
    page = list_plots(session=session, limit=100, village=COUNTY, include_retired=True)
    expected = [i for i, spec in enumerate(PLOTS, start=1) if spec.village is not None]
    assert [p.id for p in page.items] == expected


def test_list_plots_refuses_nul_and_bad_windows(session):
    with pytest.raises(InvalidParameterValue, match="q"):
        list_plots(session=session, limit=10, q="a\x00b")
    with pytest.raises(InvalidParameterValue, match="limit"):
        list_plots(session=session, limit=0)
    with pytest.raises(InvalidParameterValue, match="offset"):
        list_plots(session=session, limit=1, offset=-1)


def test_get_plot_and_not_found(session):
    record = get_plot(session=session, plot_id=plot_id("AH-0001"))
    assert record.village_code is not None and record.area_m2 == 750.0
    assert record.created_at.utcoffset() is not None
    with pytest.raises(NotFound) as caught:
        get_plot(session=session, plot_id=10**6)
    assert caught.value.message("en") == "plot not found: 1000000"


def test_admin_units_children_and_geometry_switch(session):
    page = list_admin_units(session=session, limit=10, parent=TOWNSHIP_2, with_geometry=False)
    assert [(u.code, u.geometry) for u in page.items] == [("430923101201", None)]
    unit = get_admin_unit(session=session, code=COUNTY)
    assert unit.geometry is not None
    assert json.loads(unit.geometry)["type"] == "MultiPolygon"
    with pytest.raises(InvalidParameterValue):
        list_admin_units(session=session, limit=10, level="city")
    with pytest.raises(NotFound):
        get_admin_unit(session=session, code="nope")

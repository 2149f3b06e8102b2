"""Scale and offset per scene: metadata parsing, the decision and its plausibility check."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, date, datetime

import numpy as np
import pytest

from ingest.errors import (
    ConflictingBoaOffset,
    DigitalNumbersExpected,
    ImplausibleReflectance,
    MetadataUnreadable,
)
from ingest.satellite import (
    RadiometrySource,
    Verdict,
    check_radiometry,
    decide_radiometry,
    metadata_from_properties,
    plausibility,
    read_mtd,
)
from ingest.satellite.metadata import MTD_BAND_IDS


def mtd(baseline: str, *, offsets: bool, root: str = "Level-2A_User_Product") -> str:
    """A trimmed MTD_MSIL2A.xml with the structure of real products (PSD 14 namespace)."""
    offset_list = ""
    if offsets:
        rows = "".join(f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13))
        offset_list = f"<BOA_ADD_OFFSET_VALUES_LIST>{rows}</BOA_ADD_OFFSET_VALUES_LIST>"
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>2023-07-03T03:05:59.024Z</PRODUCT_START_TIME>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values>
        <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>
      </Special_Values>
      <Special_Values>
        <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>
      </Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>
      {offset_list}
      <Spectral_Information_List>
        <Spectral_Information bandId="0" physicalBand="B1"><RESOLUTION>60</RESOLUTION>
        </Spectral_Information>
        <Spectral_Information bandId="8" physicalBand="B8A"><RESOLUTION>20</RESOLUTION>
        </Spectral_Information>
      </Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:{root}>
"""


# -- metadata ------------------------------------------------------------------------------


def test_mtd_of_baseline_4_gives_offsets_of_every_band():
    meta = read_mtd(mtd("04.00", offsets=True))
    assert meta.processing_baseline == "04.00" and meta.baseline == (4, 0)
    assert meta.quantification == 10000
    assert dict(meta.boa_offsets) == dict.fromkeys(MTD_BAND_IDS, -1000.0)
    assert meta.nodata_dn == (0, 65535)
    assert meta.acquired == datetime(2023, 7, 3, 3, 5, 59, 24000, tzinfo=UTC)


def test_mtd_before_baseline_4_has_no_offsets(tmp_path):
    path = tmp_path / "MTD_MSIL2A.xml"
    path.write_text(mtd("02.14", offsets=False), encoding="utf-8")
    for given in (path, str(path)):
        meta = read_mtd(given)
        assert meta.baseline == (2, 14) and not meta.boa_offsets and meta.source == str(path)
    with pytest.raises(MetadataUnreadable):
        read_mtd(tmp_path / "missing.xml")


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<Level-2A_User_Product><PROCESSING_BASELINE>&x;</PROCESSING_BASELINE>"
        "</Level-2A_User_Product>",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<Level-2A_User_Product>&b;</Level-2A_User_Product>",
        "<Level-2A_User_Product><unclosed></Level-2A_User_Product>",
        mtd("04.00", offsets=True, root="Level-1C_User_Product"),
        mtd("04.00", offsets=True).replace(">-1000<", ">minus<", 1),
        mtd("four", offsets=False),
    ],
    ids=["external-entity", "entity-expansion", "malformed", "l1c", "bad-offset", "bad-baseline"],
)
def test_unsafe_or_wrong_metadata_is_refused(text):
    with pytest.raises(MetadataUnreadable):
        read_mtd(text)


def test_properties_give_the_same_facts():
    meta = metadata_from_properties(
        {"s2:processing_baseline": "05.09", "BOA_ADD_OFFSET": {"red": -1000, "B08": -1000}}
    )
    assert meta.baseline == (5, 9) and dict(meta.boa_offsets) == {"B04": -1000, "B08": -1000}
    assert metadata_from_properties({"earthsearch:boa_offset_applied": True}).offset_applied
    with pytest.raises(MetadataUnreadable):
        metadata_from_properties({"harmonizeValues": "yes"})


# -- the decision --------------------------------------------------------------------------


def test_metadata_offset_is_used_and_recorded():
    radiometry = decide_radiometry(read_mtd(mtd("04.00", offsets=True)))
    assert (radiometry.offset, radiometry.scale) == (-1000, 1e-4)
    assert radiometry.source is RadiometrySource.METADATA and not radiometry.needs_check
    assert "-1000" in radiometry.describe("en") and "04.00" in radiometry.describe("zh-CN")
    json.dumps(radiometry.as_dict())
    assert (
        decide_radiometry(read_mtd(mtd("04.00", offsets=True)), user_offset=-1000).offset == -1000
    )


@pytest.mark.parametrize("baseline, offsets", [("04.00", True), ("02.14", False)])
def test_a_user_offset_that_contradicts_metadata_is_refused(baseline, offsets):
    metadata = read_mtd(mtd(baseline, offsets=offsets))
    with pytest.raises(ConflictingBoaOffset):
        decide_radiometry(metadata, user_offset=-500 if offsets else -1000)


def test_without_metadata_the_offset_is_assumed_zero_never_taken_from_the_date():
    old = decide_radiometry(None, acquired=date(2017, 7, 3))
    recent = decide_radiometry(None, acquired=date(2023, 7, 3))
    for radiometry in (old, recent):
        assert radiometry.offset == 0 and radiometry.source is RadiometrySource.ASSUMED
        assert radiometry.needs_check
        assert "no offset metadata; assumed 0" in radiometry.describe("en")
    assert "2023-07-03" in recent.describe("en") and "2023-07-03" not in old.describe("en")


def test_user_offset_fills_in_for_a_bare_file():
    radiometry = decide_radiometry(None, user_offset=-1000)
    assert radiometry.offset == -1000 and radiometry.source is RadiometrySource.USER


def test_a_user_offset_contradicting_a_removed_offset_is_refused_in_both_languages():
    metadata = metadata_from_properties({"earthsearch:boa_offset_applied": True})
    with pytest.raises(ConflictingBoaOffset) as err:
        decide_radiometry(metadata, user_offset=-1000)
    assert "already removed" in err.value.message("en")
    assert "已去除" in err.value.message("zh-CN")


def test_flags_and_incomplete_metadata_need_a_check():
    applied = decide_radiometry(metadata_from_properties({"harmonizeValues": True}))
    assert applied.offset == 0 and applied.source is RadiometrySource.SOURCE_APPLIED
    incomplete = decide_radiometry(read_mtd(mtd("05.10", offsets=False)))
    assert incomplete.offset == 0 and incomplete.needs_check
    assert incomplete.reason == "radiometry_baseline_without_offsets"


# -- DN to reflectance ---------------------------------------------------------------------


def test_nodata_saturated_and_masked_dn_become_nan():
    radiometry = decide_radiometry(metadata_from_properties({"BOA_ADD_OFFSET": -1000}))
    dn = np.ma.masked_array(np.array([0, 65535, 1500, 2000], np.uint16), [0, 0, 0, 1])
    values = radiometry.to_reflectance(dn, "red")
    assert values.dtype == np.float32
    assert np.isnan(values[[0, 1, 3]]).all() and values[2] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("offsets", "quantification", "dtype"),
    [
        ({"B04": -1000}, None, np.uint16),
        ({"B04": 0}, None, np.uint16),
        ({"B04": -1000}, 10000.0, np.uint8),
        ({"B04": -900}, 4000.0, np.int16),
        ({"B04": -1000.5}, None, np.uint16),  # not integers: the float64 path
        ({"B04": -1000}, 10000.0, np.uint32),  # wide DN: the float64 path
    ],
)
def test_every_dn_gives_the_reflectance_of_the_float64_formula(offsets, quantification, dtype):
    properties: dict[str, object] = {"BOA_ADD_OFFSET": offsets}
    if quantification is not None:
        properties["BOA_QUANTIFICATION_VALUE"] = quantification
    radiometry = decide_radiometry(metadata_from_properties(properties))
    info = np.iinfo(dtype)
    dn = np.arange(max(info.min, -70_000), min(info.max, 70_000) + 1).astype(dtype)
    got = radiometry.to_reflectance(dn, "red", nodata_dn=())
    offset, q = offsets["B04"], quantification or 10000.0
    expected = ((dn.astype(np.float64) + offset) / q).astype(np.float32)
    np.testing.assert_array_equal(got, expected)  # bit for bit, every DN


def test_floats_are_refused_so_the_offset_cannot_be_applied_twice():
    radiometry = decide_radiometry(metadata_from_properties({"BOA_ADD_OFFSET": -1000}))
    with pytest.raises(DigitalNumbersExpected):
        radiometry.to_reflectance(np.float32([0.05]), "red")


def test_band_specific_offsets_apply_to_their_band():
    meta = metadata_from_properties({"BOA_ADD_OFFSET": {"B04": -1000, "B08": -1000, "B11": -900}})
    radiometry = decide_radiometry(meta)
    assert radiometry.offset_for("swir16") == -900 and radiometry.offset_for("B04") == -1000


# -- plausibility on the real Barbellino clips ---------------------------------------------

MEDIANS = {"20170703": (0.0895, 0.3806), "20190723": (0.07445, 0.3713)}


def test_real_clips_land_at_plausible_reflectance(clip):
    radiometry = decide_radiometry(None, acquired=datetime.strptime(clip.date, "%Y%m%d").date())
    red = radiometry.to_reflectance(clip.dn["B04"], "red")
    nir = radiometry.to_reflectance(clip.dn["B08"], "nir")
    verdict = plausibility(red, nir, clip.scl10)
    assert verdict.verdict is Verdict.PLAUSIBLE and verdict.vegetated_pixels > 400
    assert (verdict.red_median, verdict.nir_median) == pytest.approx(MEDIANS[clip.date], abs=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = check_radiometry(
            radiometry, red_dn=clip.dn["B04"], nir_dn=clip.dn["B08"], scl=clip.scl10
        )
    assert not check.contradiction


def _as_baseline_4(dn):
    """The same scene as a baseline-04.00 product would store it: DN + 1000."""
    return np.where(np.isin(dn, (0, 65535)), dn, dn + 1000).astype(np.uint16)


def test_a_baseline_4_scene_gets_its_offset_applied_exactly_once(clip):
    original = decide_radiometry(None)
    shifted = decide_radiometry(read_mtd(mtd("04.00", offsets=True)))
    for s2_id, dn in clip.dn.items():
        want = original.to_reflectance(dn, s2_id)
        got = shifted.to_reflectance(_as_baseline_4(dn), s2_id)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    red = shifted.to_reflectance(_as_baseline_4(clip.dn["B04"]), "red")
    nir = shifted.to_reflectance(_as_baseline_4(clip.dn["B08"]), "nir")
    assert plausibility(red, nir, clip.scl10).verdict is Verdict.PLAUSIBLE
    # Applying the offset a second time shifts reflectance by -0.1: the check must catch it.
    twice = plausibility(red - 0.1, nir - 0.1, clip.scl10)
    assert twice.verdict is Verdict.TOO_DARK and twice.contradiction


def test_scene_check_flags_an_offset_the_source_already_removed(clip2017):
    # Metadata says -1000 but the pixels were harmonised already (a wrong flag at the source).
    radiometry = decide_radiometry(read_mtd(mtd("04.00", offsets=True)))
    with pytest.warns(ImplausibleReflectance) as caught:
        check = check_radiometry(
            radiometry, red_dn=clip2017.dn["B04"], nir_dn=clip2017.dn["B08"], scl=clip2017.scl10
        )
    assert check.contradiction and check.plausibility.verdict is Verdict.TOO_DARK
    assert check.suggested_offset == 0
    assert "SCL 4" in caught[0].message.message("zh-CN")


def test_scene_check_flags_a_missing_offset(clip2017):
    radiometry = decide_radiometry(None, acquired=date(2023, 7, 3))
    check = check_radiometry(
        radiometry,
        red_dn=_as_baseline_4(clip2017.dn["B04"]),
        nir_dn=_as_baseline_4(clip2017.dn["B08"]),
        scl=clip2017.scl10,
        warn=False,
    )
    assert check.plausibility.verdict is Verdict.TOO_BRIGHT and check.suggested_offset == -1000


def test_too_few_vegetated_pixels_decide_nothing():
    red, nir = np.full((4, 4), 0.05), np.full((4, 4), 0.4)
    scl = np.full((4, 4), 6, np.uint8)
    scl[0, :3] = 4
    verdict = plausibility(red, nir, scl)
    assert verdict.verdict is Verdict.UNDECIDED and verdict.vegetated_pixels == 3
    assert not verdict.contradiction

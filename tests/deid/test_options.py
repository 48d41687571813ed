"""Profile options from [tool.qms.deid] and --option: safe defaults, clear errors, the recorded method."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from qms.deid.method import method_codes, record_method
from qms.deid.options import DEFAULT_OPTIONS, DeidOptions, OutputNames, pixel_options
from qms.deid.pixels import OcrMode
from qms.deid.profile import ProfileOption
from qms.errors import ConfigError


def test_defaults_are_the_safe_ones() -> None:
    """By default dates are shifted (not kept) and UIDs, device and institution identity are not retained."""
    options = DeidOptions.from_config({})
    assert options.options == DEFAULT_OPTIONS
    for unsafe in (ProfileOption.RETAIN_UIDS, ProfileOption.RETAIN_DEVICE_IDENTITY,
                   ProfileOption.RETAIN_INSTITUTION_IDENTITY, ProfileOption.RETAIN_LONG_FULL_DATES):
        assert not options.has(unsafe)
    assert options.output_names is OutputNames.MIRROR


def test_cli_options_turn_options_on_and_off() -> None:
    """--option NAME adds an option over the configuration and --option no-NAME removes one."""
    options = DeidOptions.from_config({"options": ["clean_descriptors"]}, ["retain-uids", "no-clean_descriptors"])
    assert options.options == {ProfileOption.RETAIN_UIDS}


@pytest.mark.parametrize(("config", "message"), [
    ({"colour": 1}, "unknown key tool.qms.deid.colour"),
    ({"options": "retain_uids"}, "must be a list of option names"),
    ({"options": ["retain_all"]}, "unknown de-identification option 'retain_all'"),
    ({"options": ["retain_long_full_dates", "retain_long_modified_dates"]}, "exclude each other"),
    ({"date_shift_days": [5]}, "must be [min, max] in days"),
    ({"date_shift_days": [10, 1]}, "is empty"),
    ({"output_names": "by-patient"}, "'by-patient' is not allowed"),
    ({"safe_private": {"ACME": ["0010,xx01"]}}, "with an odd group"),
    ({"safe_private": ["ACME"]}, "must map a private creator"),
])
def test_bad_configuration_is_refused_with_a_clear_error(config: dict[str, object], message: str) -> None:
    """Each invalid [tool.qms.deid] value raises a ConfigError naming the key and the problem."""
    with pytest.raises(ConfigError) as info:
        DeidOptions.from_config(config)
    assert message in info.value.message
    assert info.value.where and "tool.qms.deid" in info.value.where


def test_pixel_options_come_from_the_pixels_table() -> None:
    """[tool.qms.deid.pixels] sets PixelOptions; an unknown key there is a ConfigError."""
    assert pixel_options({"pixels": {"ocr": "off", "ocr_margin": 2}}).ocr is OcrMode.OFF
    with pytest.raises(ConfigError, match="pixels"):
        pixel_options({"pixels": {"ocr": "sometimes"}})


def test_the_method_is_recorded_as_the_standard_says() -> None:
    """PatientIdentityRemoved YES, CID 7050 codes for the profile and each option, dates MODIFIED."""
    ds = Dataset()
    options = DeidOptions()
    record_method(ds, options, pixels_cleaned=True)
    codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
    assert ds.PatientIdentityRemoved == "YES"
    assert codes == ["113100", "113101", "113103", "113104", "113105", "113107", "113108", "113111"]
    assert all(item.CodingSchemeDesignator == "DCM" for item in ds.DeidentificationMethodCodeSequence)
    assert list(ds.DeidentificationMethod)[0] == "Basic Application Confidentiality Profile"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert "113101" not in [c for c, _ in method_codes(options.options, False)]


def test_without_a_date_option_dates_are_recorded_removed() -> None:
    """With neither date option, LongitudinalTemporalInformationModified is REMOVED."""
    ds = Dataset()
    record_method(ds, DeidOptions.from_config({}, ["no-retain_long_modified_dates"]), pixels_cleaned=False)
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"

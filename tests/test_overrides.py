"""NAME=VALUE settings (formcheck/overrides.py): one parser for the CLI's --set and the prescription form."""

import pytest

from formcheck.errors import FormcheckError
from formcheck.overrides import parse_overrides


def test_pairs_and_comma_separated_text_parse_alike_whole_numbers_stay_whole():
    assert parse_overrides(["knee_bent_deg=125", "reps=12", "lowering_min_s=0.6"]) == \
        {"knee_bent_deg": 125, "reps": 12, "lowering_min_s": 0.6}
    assert parse_overrides(" knee_bent_deg = 125 , lowering_min_s=0.6,") == \
        {"knee_bent_deg": 125, "lowering_min_s": 0.6}
    assert isinstance(parse_overrides(["reps=12"])["reps"], int) and parse_overrides("") == {}
    assert parse_overrides(["lift_on=-0.5"]) == {"lift_on": -0.5}


@pytest.mark.parametrize("bad, message", [(["knee_bent_deg"], "--set takes NAME=VALUE, got 'knee_bent_deg'"),
                                          (["=3"], "--set takes NAME=VALUE"),
                                          (["reps=ten"], "--set reps: 'ten' is not a number")])
def test_a_malformed_setting_is_a_clear_error(bad, message):
    with pytest.raises(FormcheckError, match=message):
        parse_overrides(bad)
    with pytest.raises(FormcheckError, match="a threshold"):
        parse_overrides("knee_bent_deg", "a threshold")

"""The safety rules (formcheck/safety.py) one by one, the doses (formcheck/dosing.py), and that every citation
is really in the article it names."""

import re

import pytest

from conftest import SHARED
from formcheck import dosing, safety
from formcheck.exercises import CATALOGUE

ALL_NO = {k: False for k in safety.QUESTIONS}
STRETCHES = {"hamstring_stretch_standing", "hamstring_stretch_seated", "hamstring_stretch_supine",
             "hamstring_stretch_chair", "calf_stretch"}
TEXTS = {"K": (SHARED / "seeds" / "back-of-knee-pain.txt").read_text(),
         "H": (SHARED / "seeds" / "hamstring-stretches.txt").read_text(),
         "catalogue": (SHARED / "docs" / "exercises.md").read_text()}


def answers(**yes):
    return {**ALL_NO, **yes}


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).lower()


def test_the_questions_are_the_issue_keys_and_the_risk_factors_k_names():
    assert set(safety.SYMPTOMS) == {"calf_pain", "leg_swelling", "leg_redness", "leg_warmth", "nerve_symptoms",
                                    "sharp_pain"}
    assert set(safety.QUESTIONS) == set(safety.SYMPTOMS) | set(safety.RISK_FACTORS)
    assert all(q.endswith("?") for q in safety.QUESTIONS.values())
    assert set(safety.LABELS) == set(safety.QUESTION_SOURCES) == set(safety.QUESTIONS)
    k = flat(TEXTS["K"])
    assert "sedentary lifestyle combined with overweight, diabetes, and smoking" in k  # the three the keys stand for
    assert set(safety.STRETCHES) == STRETCHES and STRETCHES <= set(CATALOGUE)


def test_all_no_is_clear():
    verdict = safety.screen(ALL_NO)
    assert verdict.clear and not verdict.blocked and verdict.excluded == set() and verdict.advice == []
    assert verdict.allowed(list(CATALOGUE)) == list(CATALOGUE)


@pytest.mark.parametrize("sign", ["leg_swelling", "leg_redness", "leg_warmth"])
def test_each_thrombosis_sign_on_its_own_blocks_and_sends_to_a_doctor(sign):
    verdict = safety.screen(answers(**{sign: True}))
    assert verdict.blocked and verdict.excluded == set(CATALOGUE) and verdict.allowed(list(CATALOGUE)) == []
    assert verdict.rules == ("thrombosis_signs",)
    assert "see a doctor as soon as possible" in verdict.advice[0] and "K, Thrombosis" in verdict.advice[0]


def test_calf_pain_alone_is_a_caution_not_a_block():
    verdict = safety.screen(answers(calf_pain=True))
    assert not verdict.blocked and verdict.excluded == set() and verdict.caution
    assert verdict.rules == ("calf_pain_alone",) and "swollen, red or warm" in verdict.advice[0]


def test_calf_pain_with_swelling_blocks_without_the_milder_caution():
    verdict = safety.screen(answers(calf_pain=True, leg_swelling=True))
    assert verdict.blocked and verdict.rules == ("thrombosis_signs",) and not verdict.caution


@pytest.mark.parametrize("factor", ["sedentary_overweight", "diabetes", "smoking"])
def test_a_risk_factor_is_advice_only(factor):
    verdict = safety.screen(answers(**{factor: True}))
    assert not verdict.blocked and verdict.excluded == set() and not verdict.caution
    assert verdict.rules == ("thrombosis_risk",) and "risk factor for thrombosis" in verdict.advice[0]
    assert verdict.yes == {factor}


def test_nerve_symptoms_take_every_stretch_off_and_keep_the_nerve_glide():
    verdict = safety.screen(answers(nerve_symptoms=True))
    assert not verdict.blocked and verdict.excluded == STRETCHES
    offered = verdict.allowed(list(CATALOGUE))
    assert "sciatic_nerve_glide" in offered and "straight_leg_raise" in offered and "single_leg_balance" in offered
    assert not STRETCHES & set(offered)
    assert "Consult a professional" in verdict.advice[0] and "nerve glide" in verdict.advice[0]
    assert "H, Principles of Effective Hamstring Stretching" in verdict.advice[0]


def test_sharp_pain_means_no_stretching_today():
    verdict = safety.screen(answers(sharp_pain=True))
    assert not verdict.blocked and verdict.excluded == STRETCHES
    assert "Never stretch into sharp pain" in verdict.advice[0] and "Listen to Your Body" in verdict.advice[0]


def test_several_rules_together():
    verdict = safety.screen(answers(nerve_symptoms=True, sharp_pain=True, smoking=True, calf_pain=True))
    assert verdict.rules == ("calf_pain_alone", "thrombosis_risk", "nerve_symptoms", "sharp_pain")
    assert not verdict.blocked and verdict.excluded == STRETCHES and verdict.caution and len(verdict.advice) == 4


def test_a_missing_answer_counts_as_not_reported_but_a_misspelt_one_is_an_error():
    assert safety.screen({"nerve_symptoms": True}).excluded == STRETCHES
    assert safety.screen({"leg_swelling": None}).clear
    with pytest.raises(ValueError, match="unknown safety answer"):
        safety.screen({"leg_sweling": True})
    with pytest.raises(ValueError, match="True"):
        safety.screen({"leg_swelling": "yes"})
    assert safety.unanswered({"calf_pain": False}, safety.SYMPTOMS) == list(safety.SYMPTOMS[1:])


@pytest.mark.parametrize("symptom", ["tingling", "numbness", "burning", "shooting_pain", "sharp_pain",
                                     safety.STOP_DEFAULT])
def test_stop_during_a_set_takes_that_exercise_and_the_stretches_off(symptom):
    verdict = safety.stop_during_set("straight_leg_raise", symptom)
    assert not verdict.blocked and verdict.excluded == STRETCHES | {"straight_leg_raise"}
    assert "sciatic_nerve_glide" not in verdict.excluded and "single_leg_balance" not in verdict.excluded
    assert "off for today" in verdict.advice[0] and verdict.rules[0] == "stop_during_set"
    glide = safety.stop_during_set("sciatic_nerve_glide", symptom)
    assert "sciatic_nerve_glide" in glide.excluded  # the one stopped is off, even the glide
    with pytest.raises(ValueError):
        safety.stop_during_set("straight_leg_raise", "itching")
    assert safety.STOP_BUTTON == "Stop — tingling, numbness or sharp pain"


def test_the_advice_before_start_stretching_advice_for_stretches_load_and_massage_for_every_exercise():
    stretch = safety.advice_before("hamstring_stretch_supine")
    raise_ = safety.advice_before("straight_leg_raise")
    assert any("Warm up" in a and "5–10 minutes" in a for a in stretch)
    assert any("Breathe out" in a for a in stretch) and any("sharp pain" in a for a in stretch)
    assert not any("Warm up" in a or "Breathe out" in a for a in raise_)
    for advice in (stretch, raise_):
        assert any("knee brace" in a and "weight" in a for a in advice)
        assert any("foam roller" in a for a in advice)
        assert all("(source: " in a for a in advice)

def test_combine_keeps_everything_any_verdict_says():
    morning = safety.screen(answers(nerve_symptoms=True))
    noon = safety.screen(ALL_NO)
    stop = safety.stop_during_set("single_leg_balance", "sharp_pain")
    day = safety.combine(morning, noon, stop)
    assert day.excluded == STRETCHES | {"single_leg_balance"} and not day.blocked
    assert day.advice[0] == morning.advice[0] and len(day.advice) == len(set(day.advice))
    assert safety.combine(day, safety.screen(answers(leg_warmth=True))).excluded == set(CATALOGUE)
    assert safety.combine().clear


def _quote_is_in(article: str, quote: str) -> bool:
    text = flat(TEXTS[article])
    return all(flat(part).strip(" .") in text for part in quote.split("[...]") if part.strip(" ."))


def test_every_rule_and_advice_cites_a_section_and_words_really_in_its_article():
    sources = [s for r in safety.RULES for s in r.sources] + [s for _, s in safety.GENERAL_ADVICE]
    sources += [s for ss in safety.QUESTION_SOURCES.values() for s in ss]
    assert all(r.sources for r in safety.RULES)
    for source in sources:
        assert source.article in TEXTS, source
        assert _quote_is_in(source.article, source.quote), f"not in {source.article}: {source.quote}"
        for heading in source.section.split(": "):  # "Section: subsection", both named in the article
            assert flat(heading) in flat(TEXTS[source.article]), f"no section '{heading}' in {source.article}"


def test_a_quote_that_is_not_in_the_article_is_caught():
    assert not _quote_is_in("K", "Stretch into sharp pain for best results")


# --- doses ---------------------------------------------------------------------------------------------
def test_a_20_s_hold_counts_when_20_to_30_s_is_prescribed():
    dose = dosing.Dose(3, hold_min_s=20.0, hold_max_s=30.0, days_min=3, days_max=5)
    assert dose.hold_reached(20.0) and dose.hold_reached(30.0) and dose.hold_reached(35.0)
    assert not dose.hold_reached(19.9)
    assert dose.text() == "3 × hold 20–30 s, once a day, 3–5 days a week" and dose.per_week == 3


def test_the_article_doses():
    d = dosing.ARTICLE_DOSES
    assert (d["straight_leg_raise"].sets, d["straight_leg_raise"].reps, d["straight_leg_raise"].per_day) == (3, 10, 2)
    assert d["straight_leg_raise"].text() == "3 × 10, twice a day, every day"
    assert d["calf_stretch"].per_day == 3 and d["calf_stretch"].hold_min_s == 20.0
    assert d["single_leg_balance"].as_often_as_possible and d["single_leg_balance"].per_day is None
    assert d["single_leg_balance"].text() == "3 sets, as often as possible, every day"
    for name in ("hamstring_stretch_supine", "hamstring_stretch_seated", "hamstring_stretch_standing"):
        assert (d[name].hold_min_s, d[name].hold_max_s, d[name].days_min, d[name].days_max) == (20, 30, 3, 5)
    assert all(dose.rest_s == 60.0 for dose in d.values())
    assert set(d) <= set(CATALOGUE) and all(dosing.article_dose(n).sets >= 1 for n in CATALOGUE)


def test_every_quoted_dose_is_in_its_article():
    for name, dose in dosing.ARTICLE_DOSES.items():
        article = dose.source.split()[0]
        quotes = re.findall(r'"([^"]+)"', dose.source)
        assert article in ("K", "H") and (quotes or "no dose in the articles" in dose.source or name == "hip_hinge")
        for quote in quotes:
            assert _quote_is_in(article, quote), f"{name}: not in {article}: {quote}"


@pytest.mark.parametrize("bad,message", [
    (dict(sets=0), "sets"), (dict(sets=3, reps=0), "reps"), (dict(sets=3, hold_min_s=30.0, hold_max_s=20.0), "longest"),
    (dict(sets=3, days_min=5, days_max=3), "days a week"), (dict(sets=3, days_min=0, days_max=3), "days a week"),
    (dict(sets=3, per_day=None), "times a day"), (dict(sets=3, rest_s=-1.0), "rest"),
])
def test_a_dose_that_makes_no_sense_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        dosing.Dose(**bad)


def test_old_times_a_week_read_as_times_a_day_and_days():
    assert dosing.legacy_frequency(14) == (2, 7) and dosing.legacy_frequency(7) == (1, 7)
    assert dosing.legacy_frequency(3) == (1, 3) and dosing.legacy_frequency(21) == (3, 7)
    assert dosing.legacy_frequency(10) == (2, 7)  # rounds up: at least what was asked


def test_balance_variants_easiest_first_and_only_for_balance():
    assert list(dosing.VARIANTS["single_leg_balance"]) == ["eyes_open", "eyes_closed", "cushion"]
    dosing.check_variant("single_leg_balance", "cushion")
    with pytest.raises(ValueError, match="unknown variant"):
        dosing.check_variant("single_leg_balance", "one_hand")
    with pytest.raises(ValueError, match="no variants"):
        dosing.check_variant("straight_leg_raise", "eyes_closed")
    k = flat(TEXTS["K"])
    assert "close your eyes" in k and "balance cushion" in k



def test_the_older_two_question_screen_as_answers():
    assert safety.legacy_answers(True, False) == {"calf_pain": True, "leg_swelling": True, "leg_redness": True,
                                                  "nerve_symptoms": False}
    assert safety.legacy_answers(False, True) == {"nerve_symptoms": True}  # a No names no single sign
    assert safety.screen(safety.legacy_answers(True, False)).blocked
    assert safety.screen(safety.legacy_answers(False, True)).excluded == STRETCHES
    assert all(n.startswith(safety.STRETCHES) for n in STRETCHES)  # the tuple works as a prefix test too

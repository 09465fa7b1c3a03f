"""The safety rules, in one place: the screen before exercising, the "stop" during a set, and what each
means for today. The page, the store and the therapist's flags all read them from here.

Every rule cites where it comes from: **K** is the back-of-knee article (`../shared/seeds/back-of-knee-pain.txt`),
**H** the hamstring article (`../shared/seeds/hamstring-stretches.txt`), "catalogue" is
`../shared/docs/exercises.md` ("Safety first"). A rule's advice shows its citation, so the patient and the
therapist both see why.

    verdict = screen({"calf_pain": True, "leg_swelling": False, ...})   # keys: QUESTIONS
    verdict.blocked      # no exercise today (see a doctor as soon as possible)
    verdict.excluded     # exercise names taken off today
    verdict.advice       # what to tell the patient, each with its source
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .exercises import CATALOGUE

ARTICLES = {
    "K": "Back of knee pain cause and treatment | Massage and 4 Exercises (../shared/seeds/back-of-knee-pain.txt)",
    "H": "Hamstring Stretches: Relieving Tightness Behind the Knee, Nerve Glides, and Best Practices "
         "(../shared/seeds/hamstring-stretches.txt)",
    "catalogue": "Exercise catalogue, ../shared/docs/exercises.md",
}


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: the article (K, H or the catalogue), its section and the words it rests on."""

    article: str
    section: str
    quote: str

    def cite(self) -> str:
        return f"{self.article}, {self.section}"


K_THROMBOSIS = Source("K", "Thrombosis", "It causes pain, swelling, and also redness in your leg. [...] When you "
                      "suspect to have thrombosis, you should see a doctor as soon as possible.")
K_RISK = Source("K", "Thrombosis", "Risk factors for thrombosis are a sedentary lifestyle combined with overweight, "
                "diabetes, and smoking.")
K_TIGHTNESS = Source("K", "Calf or hamstring tightness", "When these muscles tighten up, they will cause pain. You can "
                     "feel this pain at the back of your knee or in the hamstring or calf itself.")
CATALOGUE_WARMTH = Source("catalogue", "Rules that apply to every exercise: Safety first",
                          "ask, each on its own, about swelling, redness or warmth of the leg [...] any one → do not "
                          "exercise, see a doctor as soon as possible")
H_NERVE = Source("H", "Principles of Effective Hamstring Stretching: Differentiate Muscle vs. Nerve Sensation",
                 "Nerve tension [...] might manifest as tingling, numbness, sharp pain, or a burning sensation that "
                 "travels down the leg. If you experience nerve symptoms, stop and consult a professional.")
H_GLIDE = Source("H", "Seated Sciatic Nerve Glide", "If the sensation behind the knee feels more like tingling, "
                 "burning, or a sharp, traveling pain rather than a pure muscle stretch, a nerve glide might be more "
                 "appropriate.")
H_SHARP = Source("H", "Important Considerations and Precautions: Listen to Your Body",
                 "Never stretch into sharp pain. [...] If any stretch causes numbness, tingling, or shooting pain, "
                 "stop immediately and consult a healthcare professional.")

# --- the questions ---------------------------------------------------------------------------------
SYMPTOMS = ("calf_pain", "leg_swelling", "leg_redness", "leg_warmth", "nerve_symptoms", "sharp_pain")
RISK_FACTORS = ("sedentary_overweight", "diabetes", "smoking")  # K "Thrombosis", as the article names them
THROMBOSIS_SIGNS = ("leg_swelling", "leg_redness", "leg_warmth")

QUESTIONS: dict[str, str] = {  # key → what the patient reads (each answered Yes or No, each on its own)
    "calf_pain": "Do you have pain in your calf?",
    "leg_swelling": "Is your lower leg or calf swollen?",
    "leg_redness": "Is the skin of your lower leg or calf red?",
    "leg_warmth": "Does your lower leg or calf feel warm to the touch?",
    "nerve_symptoms": "Do you feel tingling, numbness, burning or shooting pain in your leg?",
    "sharp_pain": "Do you have sharp pain behind your knee or in your leg today?",
    "sedentary_overweight": "Do you sit most of the day and are you overweight?",
    "diabetes": "Do you have diabetes?",
    "smoking": "Do you smoke?",
}
LABELS: dict[str, str] = {  # key → a few words for the therapist's flag list
    "calf_pain": "calf pain", "leg_swelling": "leg swelling", "leg_redness": "leg redness",
    "leg_warmth": "leg warmth", "nerve_symptoms": "nerve symptoms (tingling, numbness, burning, shooting pain)",
    "sharp_pain": "sharp pain", "sedentary_overweight": "thrombosis risk: sedentary with overweight",
    "diabetes": "thrombosis risk: diabetes", "smoking": "thrombosis risk: smoking",
}
QUESTION_SOURCES: dict[str, tuple[Source, ...]] = {
    "calf_pain": (K_THROMBOSIS, K_TIGHTNESS), "leg_swelling": (K_THROMBOSIS,), "leg_redness": (K_THROMBOSIS,),
    "leg_warmth": (CATALOGUE_WARMTH,), "nerve_symptoms": (H_NERVE, H_SHARP), "sharp_pain": (H_SHARP,),
    "sedentary_overweight": (K_RISK,), "diabetes": (K_RISK,), "smoking": (K_RISK,),
}

# --- what the rules act on -------------------------------------------------------------------------
# Every stretch by name (a tuple, so `name in STRETCHES` and `name.startswith(STRETCHES)` both work).
STRETCHES: tuple[str, ...] = tuple(sorted(n for n in CATALOGUE
                                          if n.startswith("hamstring_stretch_") or n == "calf_stretch"))
STRETCH_SET: frozenset[str] = frozenset(STRETCHES)
NERVE_GLIDE = "sciatic_nerve_glide"  # not a stretch "in the traditional sense" (H, nerve glide): it stays
EVERYTHING: frozenset[str] = frozenset(CATALOGUE)
# Fault codes that are not faults: a touch-down ends a balance stance (it is how the stance is timed).
NOT_FAULTS: frozenset[str] = frozenset({"touch_down"})


@dataclass(frozen=True)
class Rule:
    """When any of `when` is answered Yes (and none of `unless`): the effect, the advice and its sources.
    Effects: "block" (no exercise at all), "no_stretching" (every stretch off, the nerve glide stays),
    "caution" (exercise goes on, with the advice), "note" (advice only)."""

    name: str
    when: tuple[str, ...]
    effect: str
    advice: str
    sources: tuple[Source, ...]
    unless: tuple[str, ...] = ()

    def applies(self, answers: dict[str, bool | None]) -> bool:
        return any(answers.get(k) for k in self.when) and not any(answers.get(k) for k in self.unless)

    def excludes(self) -> frozenset[str]:
        return {"block": EVERYTHING, "no_stretching": STRETCH_SET}.get(self.effect, frozenset())

    def advice_cited(self) -> str:
        return f"{self.advice} (source: {'; '.join(s.cite() for s in self.sources)})"


RULES: tuple[Rule, ...] = (
    Rule("thrombosis_signs", THROMBOSIS_SIGNS, "block",
         "Swelling, redness or warmth of the leg can be a sign of a blood clot (thrombosis). Do not exercise: "
         "see a doctor as soon as possible.", (K_THROMBOSIS, CATALOGUE_WARMTH)),
    Rule("calf_pain_alone", ("calf_pain",), "caution",
         "Calf pain on its own is often a tight calf muscle, so you may exercise; but if your leg becomes swollen, "
         "red or warm, stop and see a doctor as soon as possible.", (K_TIGHTNESS, K_THROMBOSIS),
         unless=THROMBOSIS_SIGNS),
    Rule("thrombosis_risk", RISK_FACTORS, "note",
         "You have a risk factor for thrombosis: if your calf hurts and your leg becomes swollen, red or warm, "
         "stop and see a doctor as soon as possible. Regular exercise helps reduce the risk.", (K_RISK, K_THROMBOSIS)),
    Rule("nerve_symptoms", ("nerve_symptoms",), "no_stretching",
         "Tingling, numbness, burning or shooting pain can come from the nerve, not the muscle: no stretching today. "
         "The gentle seated nerve glide stays (never into pain, do not hold the end position). Consult a professional "
         "(your physiotherapist or doctor).", (H_NERVE, H_GLIDE, H_SHARP)),
    Rule("sharp_pain", ("sharp_pain",), "no_stretching",
         "Never stretch into sharp pain: no stretching today.", (H_SHARP,)),
)


@dataclass(frozen=True)
class Verdict:
    """What the answers mean for today. `excluded` holds every catalogue name when `blocked`."""

    blocked: bool
    excluded: frozenset[str]
    advice: list[str]
    caution: bool = False  # exercising goes on, with a caution in the advice
    rules: tuple[str, ...] = ()  # the rules that fired, by name
    yes: frozenset[str] = field(default_factory=frozenset)  # the answers that were Yes

    def allowed(self, names) -> list[str]:
        """The names (in their order) still on offer today."""
        return [n for n in names if n not in self.excluded]

    @property
    def clear(self) -> bool:
        return not (self.blocked or self.excluded or self.caution or self.advice)


CLEAR = Verdict(False, frozenset(), [])


def check_answers(answers: dict[str, bool | None]) -> None:
    unknown = set(answers) - set(QUESTIONS)
    if unknown:
        raise ValueError(f"unknown safety answer(s): {', '.join(sorted(unknown))}; the questions are "
                         f"{', '.join(QUESTIONS)}")
    for key, value in answers.items():
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"the answer to {key} must be True (Yes), False (No) or None (not asked)")


def unanswered(answers: dict[str, bool | None], keys=tuple(QUESTIONS)) -> list[str]:
    """The questions (keys) still without a Yes or No."""
    return [k for k in keys if answers.get(k) is None]


def screen(answers: dict[str, bool | None]) -> Verdict:
    """The safety screen's verdict. Keys are QUESTIONS' (unknown keys are an error: a misspelt red flag must
    not pass as a No); a missing key or None counts as not reported."""
    check_answers(answers)
    fired = [r for r in RULES if r.applies(answers)]
    blocked = any(r.effect == "block" for r in fired)
    excluded = EVERYTHING if blocked else frozenset().union(*(r.excludes() for r in fired))
    return Verdict(blocked=blocked, excluded=frozenset(excluded), advice=[r.advice_cited() for r in fired],
                   caution=any(r.effect == "caution" for r in fired), rules=tuple(r.name for r in fired),
                   yes=frozenset(k for k, v in answers.items() if v))


def combine(*verdicts: Verdict) -> Verdict:
    """Several verdicts of one day as one: anything blocked or excluded by any of them stays so."""
    if not verdicts:
        return CLEAR
    blocked = any(v.blocked for v in verdicts)
    advice: list[str] = []
    for v in verdicts:
        advice += [a for a in v.advice if a not in advice]
    rules: list[str] = []
    for v in verdicts:
        rules += [r for r in v.rules if r not in rules]
    return Verdict(blocked=blocked,
                   excluded=EVERYTHING if blocked else frozenset().union(*(v.excluded for v in verdicts)),
                   advice=advice, caution=any(v.caution for v in verdicts), rules=tuple(rules),
                   yes=frozenset().union(*(v.yes for v in verdicts)))


# --- stop during a set ------------------------------------------------------------------------------
STOP_BUTTON = "Stop — tingling, numbness or sharp pain"
# symptom → (what the patient reads, the screen answers it amounts to)
STOP_SYMPTOMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tingling": ("Tingling", ("nerve_symptoms",)),
    "numbness": ("Numbness", ("nerve_symptoms",)),
    "burning": ("Burning", ("nerve_symptoms",)),
    "shooting_pain": ("Shooting pain", ("nerve_symptoms",)),
    "sharp_pain": ("Sharp pain", ("sharp_pain",)),
    # the one big button, when the page does not ask which: both rules (their exclusions are the same)
    "tingling_numbness_or_sharp_pain": ("Tingling, numbness or sharp pain", ("nerve_symptoms", "sharp_pain")),
}
STOP_DEFAULT = "tingling_numbness_or_sharp_pain"


def stop_during_set(exercise: str, symptom: str = STOP_DEFAULT) -> Verdict:
    """What pressing "stop" means: the set ends now, that exercise is off for the day, and the symptom counts as
    the screen's answer would (nerve symptoms or sharp pain: no stretching today; H "Listen to Your Body":
    "If any stretch causes numbness, tingling, or shooting pain, stop immediately and consult a healthcare
    professional")."""
    if exercise not in CATALOGUE:
        raise ValueError(f"unknown exercise '{exercise}'")
    if symptom not in STOP_SYMPTOMS:
        raise ValueError(f"unknown symptom '{symptom}': one of {', '.join(STOP_SYMPTOMS)}")
    label, keys = STOP_SYMPTOMS[symptom]
    base = screen({k: True for k in keys})
    stopped = (f"{label} during {CATALOGUE[exercise].title}: the set is stopped and this exercise is off for today "
               f"(source: {H_SHARP.cite()}).")
    return Verdict(blocked=base.blocked, excluded=base.excluded | {exercise}, advice=[stopped, *base.advice],
                   caution=base.caution, rules=("stop_during_set", *base.rules), yes=base.yes)


# --- said before exercising (the articles' general advice) -----------------------------------------
GENERAL_ADVICE: tuple[tuple[str, Source], ...] = (
    ("Warm up first: 5–10 minutes of walking or light cardio before stretching.",
     Source("H", "Principles of Effective Hamstring Stretching: Warm-Up First",
            "Always perform a light warm-up (e.g., 5-10 minutes of walking or light cardio) before static stretching")),
    ("Breathe out as you ease into a stretch.",
     Source("H", "Principles of Effective Hamstring Stretching: Breathe Deeply",
            "Exhale as you deepen the stretch, holding for the recommended duration.")),
    ("Never stretch into sharp pain; a mild, tolerable tension is right.", H_SHARP),
    ("Hold still: no bouncing.", Source("H", "Important Considerations and Precautions: Avoid Bouncing",
                                        "Stick to static holds.")),
    ("Reduce the load on your knee: losing weight and a knee brace help.",
     Source("K", "Pain in the back of your knee treatment with massage and exercises",
            "You can reduce the load on your knee by losing weight and wearing a knee brace.")),
    ("Massage the back of your knee, hamstring and calf, or use a foam roller.",
     Source("K", "Pain in the back of your knee treatment with massage and exercises",
            "massage the back of your knee, hamstring, and calf muscle [...] You can also use a foam roller")),
)


def advice_before(exercise: str) -> list[str]:
    """What the page says before START, each with its source: for a stretch, the hamstring article's (H)
    warm-up, breathing, sharp pain and bouncing; for every exercise, the back-of-knee article's (K) load and
    massage advice."""
    return [f"{text} (source: {source.cite()})" for text, source in GENERAL_ADVICE
            if source.article == "K" or exercise in STRETCH_SET]


def legacy_answers(calf_red_flag: bool | None, nerve_symptoms: bool | None) -> dict[str, bool | None]:
    """The older two-question screen ("calf pain together with swelling and redness?", "nerve symptoms?") as
    QUESTIONS' answers: a Yes to the first is a Yes to all three; a No does not say which of them is absent, so
    those stay unknown (left out)."""
    signs = {"calf_pain": True, "leg_swelling": True, "leg_redness": True} if calf_red_flag else {}
    return {**signs, "nerve_symptoms": nerve_symptoms}

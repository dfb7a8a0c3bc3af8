"""Probe sets: the shipped files meet coverage and validate, loader errors point at file/line/field,
versions track content only, and answer keys score and extract answers as documented."""

from __future__ import annotations

import re
import textwrap

import jsonschema
import pytest
from conftest import ROOT

from forensics.cli.probes import cmd_probes
from forensics.probes import (
    DEFAULT_DIR,
    FAMILIES,
    PROBE_SET_SCHEMA,
    AnswerKey,
    ProbeSetError,
    load_probe_set,
    load_probe_sets,
    probe_set_stats,
)

# A correct and a wrong phrasing for every shipped error trap, written by hand.
EXAMPLES = {
    "trap-count-r-strawberry": ("There are **3** r's in 'strawberry'.", "The word 'strawberry' contains 2 r's."),
    "trap-count-e-excellence": ("'Excellence' has 4 e's.", "There are three e's in excellence."),
    "trap-count-s-mississippi": ("The letter s appears 4 times in Mississippi.", "There are 3 s's."),
    "trap-count-p-pineapple": ("Pineapple contains three p's.", "It contains 2 p's."),
    "trap-count-l-parallel": ("There are 3 l's in 'parallel'.", "'Parallel' has 2 l's."),
    "trap-count-o-chocolate": ("The letter o occurs twice in 'chocolate' (2 times).", "It occurs 3 times."),
    "trap-count-r-raspberry": ("Raspberry has 3 r's: r-a-s-p-b-e-r-r-y.", "Raspberry has 2 r's."),
    "trap-count-i-invisibility": ("There are 5 i's in 'invisibility'.", "There are 4 i's."),
    "trap-count-t-committee": ("'Committee' has 2 t's.", "'Committee' has 1 t."),
    "trap-count-e-tennessee": ("The answer is 4.", "E appears 3 times in Tennessee."),
    "trap-count-g-eggnog": ("Eggnog has three g's.", "Eggnog has 2 g's."),
    "trap-count-o-onomatopoeia": ("There are 4 o's in onomatopoeia.", "There are 3 o's in onomatopoeia."),
    "trap-count-c-occurrence": ("'Occurrence' contains 3 c's.", "'Occurrence' contains 2 c's."),
    "trap-count-letters-encyclopedia": ("'Encyclopedia' has 12 letters.", "'Encyclopedia' has 11 letters."),
    "trap-count-vowels-education": ("'Education' has 5 vowels: e, u, a, i, o.", "It has 4 vowels."),
    "trap-count-words-pangram": ("The sentence has 9 words.", "The sentence has 8 words."),
    "trap-reverse-strawberry": ("Backwards, 'strawberry' is 'yrrebwarts'.", "Backwards it is 'yrrebawrts'."),
    "trap-fifth-letter-algorithm": ("The fifth letter of 'algorithm' is 'r'.", "The fifth letter is 'o'."),
    "trap-math-17x23": ("17 × 23 = 391", "17 × 23 = 381"),
    "trap-math-123-plus-989": ("123 + 989 = 1,112", "123 + 989 = 1,102"),
    "trap-math-precedence": ("1000 - 7 × 13 = 1000 - 91 = 909", "The result is 12,909."),
    "trap-math-3-plus-3x3-minus-3": ("3 + 9 - 3 = 9", "The answer is 15."),
    "trap-math-neg-precedence": ("-8 + 12 = 4", "-8 + 3 × 4 = -20"),
    "trap-math-2pow10": ("2^10 = 1024", "2 to the power of 10 is 1000."),
    "trap-math-2pow16": ("2^16 is 65,536.", "2^16 = 65,535"),
    "trap-math-percent": ("15% of 240 is 36.", "15% of 240 is 24."),
    "trap-math-div-plus": ("144 ÷ 12 = 12, and 12 + 7 = 19.", "144 ÷ (12 + 7) ≈ 7.58"),
    "trap-math-big-subtraction": ("987654321 - 123456789 = 864197532", "The answer is 864,197,523."),
    "trap-math-decimal-mult": ("3.7 × 4 = 14.8", "3.7 × 4 = 12.8"),
    "trap-math-sqrt169": ("The square root of 169 is 13.", "The square root of 169 is 14."),
    "trap-math-7-factorial": ("7! = 5040", "7! = 720"),
    "trap-math-999-squared": ("999 × 999 = 998,001", "999 × 999 = 999,001"),
    "trap-math-12-cubed": ("12 × 12 × 12 = 1728", "12 × 12 × 12 = 1,628"),
    "trap-math-sum-1-100": ("The sum is 5050.", "The sum is 5,000."),
    "trap-math-point1-point2": ("0.1 + 0.2 = 0.3", "0.1 + 0.2 = 0.21"),
    "trap-math-compare-decimals": ("9.9 is larger than 9.11.", "9.11 is larger than 9.9."),
    "trap-math-fraction-sum": ("1/4 + 1/3 = 3/12 + 4/12 = 7/12", "1/4 + 1/3 = 2/7"),
    "trap-math-one-eighth": ("1/8 = 0.125", "1/8 = 0.18"),
    "trap-math-discount-original": ("The original price was $50.", "The original price was $48."),
    "trap-math-solve-x": ("x = 7, so 3x = 21.", "3x = 36"),
    "trap-math-48x25": ("48 × 25 = 1,200", "48 × 25 = 1,000"),
    "trap-math-91-prime": ("No. 91 = 7 × 13, so it is composite.", "Yes, 91 is a prime number."),
    "trap-math-1-prime": ("No, 1 is not a prime number.", "Yes."),
    "trap-math-smallest-prime": ("The smallest prime number is 2.", "The smallest prime number is 1."),
    "trap-pen-notebook": ("The pen costs 5 cents ($0.05).", "The pen costs 10 cents."),
    "trap-printers-posters": ("It still takes 5 minutes.", "It takes 100 minutes."),
    "trap-algae-pond": ("It was half covered on day 29.", "On day 15."),
    "trap-goats-all-but": ("He has 9 goats left.", "He has 8 goats left."),
    "trap-apples-take-away": ("You have 2 apples, the ones you took.", "There is 1 apple left."),
    "trap-months-28-days": ("All 12 months have at least 28 days.", "Only February has 28 days."),
    "trap-race-second": ("You are now in second place.", "You would be in first place."),
    "trap-border-survivors": (
        "You don't bury survivors: they are alive.",
        "They are buried in the country where most of the wreckage lies.",
    ),
    "trap-moses-ark": ("None: it was Noah, not Moses, who built the ark.", "Moses took two of each kind."),
    "trap-kilo-feathers": ("They weigh the same: one kilogram each.", "The bricks are heavier."),
    "trap-rooster-egg": ("Roosters don't lay eggs, so it doesn't roll anywhere.", "It rolls down the windward side."),
    "trap-third-child-name": ("The third child is Tom.", "The third child is June."),
    "trap-portrait-riddle": ("The man in the portrait is her son.", "It is her father."),
    "trap-riddle-candle": ("A candle.", "A match."),
    "trap-riddle-towel": ("A towel!", "A sponge."),
    "trap-riddle-piano": ("You are a piano.", "A lock."),
    "trap-pills-half-hour": ("It takes one hour: now, after 30 minutes, and after 60 minutes.", "It takes 1.5 hours."),
    "trap-clock-angle": ("The angle is 7.5 degrees.", "The angle is 0 degrees."),
    "trap-clock-overlaps": ("They overlap 11 times.", "They overlap 12 times."),
    "trap-spider-legs-leading": ("No, spiders have 8 legs.", "Yes, spiders have 6 legs."),
    "trap-einstein-nobel": (
        "He didn't: his 1921 prize was for the photoelectric effect.",
        "Because relativity changed physics.",
    ),
    "trap-armstrong-mars": (
        "Neil Armstrong never landed on Mars; he walked on the Moon in 1969.",
        "He landed on Mars in 1971.",
    ),
    "trap-great-wall-moon": (
        "It isn't visible from the Moon with the naked eye; that's a myth.",
        "Because it is so long.",
    ),
    "trap-shakespeare-austen": (
        "Shakespeare didn't write it; Jane Austen published it in 1813.",
        "He wrote it in 1599.",
    ),
    "trap-titanic-year": ("The Titanic sank in 1912, not 1915.", "It hit a mine in 1915."),
    "trap-curie-third-nobel": ("She won only two Nobel Prizes, in 1903 and 1911.", "For her work on radium in 1921."),
    "trap-first-woman-moon": ("No woman has walked on the Moon yet.", "It was Sally Ride."),
    "trap-capital-australia": ("No, the capital of Australia is Canberra.", "Yes, Sydney is the capital."),
    "trap-closest-planet": ("False. Mercury is the closest planet to the Sun.", "True."),
    "trap-water-boiling-f": ("Water boils at 212 °F at sea level.", "Water boils at 100 °F."),
    "trap-bones-adult": ("An adult human has 206 bones.", "An adult has about 300 bones."),
    "trap-gold-symbol": ("The symbol for gold is Au.", "The symbol for gold is Ag."),
    "trap-fake-novel": (
        "I'm not aware of a novel by that title or author.",
        "The novel follows a gardener in Velmora who grows glass fruit.",
    ),
    "trap-fake-treaty": (
        "I couldn't find any record of a Treaty of Kostravia.",
        "The treaty ended the war between Kostravia and Prussia.",
    ),
    "trap-fake-nobel-category": ("There is no Nobel Prize in Quantum Gastronomy.", "It was awarded to Ferran Adrià."),
    "trap-fake-theorem": (
        "I'm not familiar with a Pellingham-Stroud theorem.",
        "It states that every compact manifold is orientable.",
    ),
    "trap-fake-town": ("I couldn't verify that Quillsby-on-Marne exists in Ohio.", "About 4,200 people live there."),
    "trap-fake-element": ("Vandurium is not a real element.", "Vandurium has atomic number 121."),
    "trap-fake-song": (
        "I don't have any information about that song.",
        "The chorus goes: 'Silver lanterns light my way'.",
    ),
    "trap-fake-pandas-method": (
        "pandas DataFrames don't have an autofix_all() method.",
        "Call df.autofix_all(inplace=True).",
    ),
    "trap-fake-inventor": (
        "I can't find any record of a Dr. Mirela Vantross.",
        "She built the first hydrogen violin in 1962.",
    ),
    "trap-fake-emperor": (
        "There was no Roman emperor called Calvarius IV; he appears to be fictional.",
        "He expanded the empire into Dacia.",
    ),
    "trap-fake-country-un": ("The Westhaven Isles is not a real country.", "It joined in 1979."),
    "trap-fake-economics-effect": (
        "I'm not aware of a Maddox-Reinholt effect.",
        "It describes how wages rise when unions merge.",
    ),
    "trap-date-y2k-weekday": ("1 January 2000 was a Saturday.", "It was a Friday."),
    "trap-date-100-days": ("100 days = 14 weeks + 2 days, so it will be Friday.", "It will be Thursday."),
    "trap-date-30-days-after": ("30 days after 15 January 2023 is 14 February 2023.", "It is 15 February 2023."),
    "trap-date-leap-2024": ("2024 is a leap year, so it's 1 March 2024.", "It is March 2, 2024."),
    "trap-date-1900-leap": (
        "No. 1900 is divisible by 100 but not by 400, so it was not a leap year.",
        "Yes, 1900 was a leap year.",
    ),
    "trap-date-leap-days": ("A leap year has 366 days.", "A leap year has 365 days."),
    "trap-date-christmas-2023": ("Christmas Day 2023 was a Monday.", "It fell on a Sunday."),
    "trap-unit-minutes-3-5h": ("3.5 hours = 210 minutes", "3.5 hours is 350 minutes."),
    "trap-unit-seconds-day": ("There are 86,400 seconds in a day.", "There are 3,600 seconds in a day."),
    "trap-unit-hours-week": ("A week has 168 hours.", "A week has 148 hours."),
    "trap-unit-f-to-c": ("100 °F ≈ 37.8 °C", "100 °F is about 38.9 °C."),
    "trap-unit-miles-km": ("5 miles is about 8.0 km.", "5 miles is about 3.1 km."),
    "trap-unit-cm": ("2.5 m = 250 cm", "2.5 m = 25 cm"),
    "trap-unit-train-arrival": ("It arrives at 14:15.", "It arrives at 13:15."),
    "trap-unit-tokyo-time": ("It is midnight (00:00) in Tokyo.", "It is 6 a.m. in Tokyo."),
    "trap-unit-seconds-vs-minutes": ("1000 seconds is longer: it is about 16.7 minutes.", "15 minutes is longer."),
}


@pytest.fixture(scope="module")
def shipped():
    return load_probe_sets()


@pytest.fixture(scope="module")
def probes(shipped):
    return [p for s in shipped for p in s.probes]


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# --- shipped probe sets --------------------------------------------------------------------------


def test_default_dir_is_the_checkouts_top_level_probe_sets():
    """Users look for the curated sets in probe_sets/; the wheel ships them (tests/test_project.py)."""
    assert DEFAULT_DIR == ROOT / "probe_sets"
    assert len(list(DEFAULT_DIR.glob("*.yaml"))) >= 6
    assert not (ROOT / "forensics" / "probes" / "curated").exists()  # one copy only, never two to drift apart


def test_every_shipped_file_validates(shipped):
    files = sorted(DEFAULT_DIR.glob("*.yaml"))
    assert [s.path.name for s in shipped] == [f.name for f in files]
    for probe_set in shipped:
        assert re.fullmatch(r"[0-9a-f]{64}", probe_set.version)
        assert probe_set.probes
    assert {s.name for s in shipped} >= {"identity", "refusal", "over_refusal", "error_traps", "style", "multilingual"}


def test_coverage(probes, shipped):
    stats = probe_set_stats(shipped)
    assert stats["total"] == len(probes) >= 400
    assert set(stats["by_family"]) == set(FAMILIES)
    for family in FAMILIES:
        assert stats["by_family"][family] >= 30, family
    assert sum(stats["by_family"].values()) == stats["total"]
    assert sum(stats["by_language"].values()) == stats["total"]
    assert "zh" in stats["by_language"] and len(stats["by_language"]) >= 4
    multilingual = stats["by_family_language"]["multilingual"]
    assert "zh" in multilingual and len(multilingual) >= 4
    assert stats["answerable"] == sum(p.answer is not None for p in probes)
    assert [s["version"] for s in stats["sets"]] == [s.version for s in shipped]


def test_ids_unique_and_well_formed(probes):
    ids = [p.id for p in probes]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9._-]+", i) for i in ids)


def test_probes_are_well_formed(probes):
    for probe in probes:
        assert probe.family in FAMILIES
        assert probe.messages[-1]["role"] == "user"
        assert probe.prompt == probe.messages[-1]["content"] and probe.prompt.strip() == probe.prompt
        assert probe.source_line > 1
    borderline = [p for p in probes if p.family == "refusal" and "borderline" in p.tags]
    assert 10 <= len(borderline) < sum(p.family == "refusal" for p in probes) / 2
    assert any(len(p.messages) > 1 for p in probes if p.family == "identity")


def test_every_error_trap_has_a_key_that_separates_right_from_wrong(probes):
    traps = {p.id: p for p in probes if p.family == "error_trap"}
    assert all(p.answer is not None for p in traps.values())
    assert set(traps) == set(EXAMPLES), "every error trap needs a hand-written example here"
    for pid, (right, wrong) in EXAMPLES.items():
        key = traps[pid].answer
        assert key.check(right), (pid, right)
        assert not key.check(wrong), (pid, wrong)
        assert key.extract(wrong) != key.extract(right), pid


def test_numeric_keys_accept_their_own_number(probes):
    numeric = [p.answer for p in probes if p.answer and p.answer.number is not None]
    assert len(numeric) >= 40
    for key in numeric:
        text = f"{key.number:.12g}"
        assert key.check(text) and key.check(f"The answer is {text}.")
        assert key.extract(f"The answer is {text}.") == text
        assert not key.check(f"The answer is {key.number + 1 + 10 * key.tolerance:.12g}.")


def test_shipped_multilingual_keys(probes):
    by_id = {p.id: p.answer for p in probes}
    assert by_id["ml-capital-china-zh"].check("中国的首都是北京。")
    assert not by_id["ml-capital-china-zh"].check("中国的首都是上海。")
    assert by_id["ml-meninas-es"].check("Las Meninas fue pintado por Diego Velázquez.")
    assert by_id["ml-war-peace-ru"].check("Роман «Война и мир» написан Львом Толстым.")
    assert by_id["ml-week-days-ar"].check("عدد أيام الأسبوع ٧ أيام.")
    assert by_id["ml-capital-korea-ko"].check("한국의 수도는 서울입니다.")


# --- AnswerKey -----------------------------------------------------------------------------------


def test_numeric_key_uses_the_committed_number():
    key = AnswerKey(number=42)
    assert key.check("The answer is 42.")
    assert key.check("6 × 7 = 42") and key.check("**42**") and key.check("forty-two")
    assert not key.check("41") and not key.check("The answer is 41.") and not key.check("")
    assert key.extract("41") == "41"
    # Two models' identical wrong answers compare equal however they are phrased.
    assert key.extract("I believe it is 41.") == key.extract("6 × 7 = 41") == key.extract("**41**") == "41"
    assert key.extract("The answer is 1,041.") == "1041"
    assert key.extract("I'm not sure.") == "i'm not sure"  # no number: falls back to the short answer
    assert key.extract("") is None and key.extract("   ") is None


def test_numeric_tolerance():
    key = AnswerKey(number=37.8, tolerance=0.05)
    assert key.check("About 37.8 °C.") and key.check("≈ 37.78") and not key.check("37.9")
    assert AnswerKey(number=0.3, tolerance=1e-6).check("0.1 + 0.2 = 0.30000000000000004")


def test_accept_matches_whole_words_after_normalisation():
    key = AnswerKey(accept=("3", "three"))
    assert key.check("There are THREE r’s.") and key.check("It is *3*.")
    assert not key.check("There are 13.") and not key.check("About 3.5 of them.") and not key.check("threefold")
    assert key.extract("There are three.") == "3"  # canonical first entry for any accepted answer
    assert AnswerKey(accept=("Velázquez",)).check("painted by VELAZQUEZ")
    assert AnswerKey(accept=("北京",)).check("首都是北京市")  # unspaced scripts match as substrings


def test_regex_key_and_short_answer_extraction():
    key = AnswerKey(regex=r"not aware|no record|doesn't exist|fictional|not a real")
    assert key.check("I’m not aware of any such book.") and key.check("It DOESN'T EXIST.")
    assert not key.check("The book was published in 1987.")
    assert key.extract("Sorry, I'm not aware of it.") == "not aware"
    assert key.extract("It was written by **Henrik Asselby**.") == "henrik asselby"
    assert key.extract("The answer is: Paris! It is lovely.") == "paris"
    assert key.extract("It was a Friday. Definitely.") == AnswerKey().extract("Friday.") == "friday"


def test_multiple_criteria_are_alternatives():
    key = AnswerKey(accept=("5 cents",), number=0.05, tolerance=1e-4)
    assert key.check("$0.05") and key.check("It costs 5 cents.") and not key.check("10 cents")
    assert key.extract("10 cents") == "10"


# --- versions ------------------------------------------------------------------------------------

ORIGINAL = """
name: demo
description: a demo set
probes:
  - id: demo-a
    family: style
    prompt: "Write a haiku about rain."
    language: en
    tags: [poem]
  - id: demo-b
    family: error_trap
    prompt: "What is 2 + 2?"
    language: en
    answer: {number: 4}
"""

REFORMATTED = """
# The same content, reformatted: comments, key order, quoting, block style, probe order.
probes:
- answer:
    number: 4.0
  language: en
  family: error_trap
  id: demo-b   # moved first
  prompt: What is 2 + 2?
-   prompt: >-
      Write a haiku
      about rain.
    id: 'demo-a'
    tags:
      - poem
    family: style
    language: en
description: reworded description
x-notes: {anything: [goes, here]}
name: demo
"""


def test_version_ignores_formatting(tmp_path):
    a = load_probe_set(write(tmp_path, "a.yaml", ORIGINAL))
    b = load_probe_set(write(tmp_path, "b.yaml", REFORMATTED))
    assert a.version == b.version
    as_messages = ORIGINAL.replace('prompt: "What is 2 + 2?"', 'messages: [{role: user, content: " What is 2 + 2? "}]')
    assert load_probe_set(write(tmp_path, "c.yaml", as_messages)).version == a.version


@pytest.mark.parametrize(
    "old, new",
    [
        ("Write a haiku about rain.", "Write a haiku about snow."),
        ("id: demo-a", "id: demo-z"),
        ("number: 4", "number: 5"),
        ("tags: [poem]", "tags: [poem, short]"),
        ("    language: en\n    tags", "    language: de\n    tags"),
    ],
)
def test_version_changes_with_content(tmp_path, old, new):
    assert old in ORIGINAL
    a = load_probe_set(write(tmp_path, "a.yaml", ORIGINAL))
    b = load_probe_set(write(tmp_path, "b.yaml", ORIGINAL.replace(old, new)))
    assert a.version != b.version


def test_loaded_probe_fields(tmp_path):
    demo = load_probe_set(write(tmp_path, "demo.yaml", ORIGINAL))
    a, b = demo.probes
    assert (demo.name, a.id, a.family, a.language, a.tags, a.answer) == (
        "demo",
        "demo-a",
        "style",
        "en",
        ("poem",),
        None,
    )
    assert a.messages == ({"role": "user", "content": "Write a haiku about rain."},)
    assert (a.source_line, b.source_line) == (4, 9)
    assert b.answer == AnswerKey(number=4.0) and b.prompt == "What is 2 + 2?"
    assert len({a, b, a}) == 2


# --- malformed files -----------------------------------------------------------------------------

GOOD_PROBE = """
  - id: ok-1
    family: style
    prompt: "fine"
    language: en
"""

MALFORMED = {
    "syntax": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "unterminated
            language: en
        """,
        5,
        "<yaml>",
        "YAML syntax error",
    ),
    "bad-indent": (
        """
        name: t
        probes:
          - id: a
            family: style
           prompt: "x"
            language: en
        """,
        5,
        "<yaml>",
        "YAML syntax error",
    ),
    "missing-prompt": (
        """
        name: t
        probes:
          - id: a
            family: style
            language: en
        """,
        3,
        "probes[0].prompt",
        "missing",
    ),
    "tags-not-list": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "x"
            language: en
            tags: creator
        """,
        7,
        "probes[0].tags",
        "expected a list, got a string 'creator'",
    ),
    "unknown-family": (
        """
        name: t
        probes:
          - id: a
            family: styel
            prompt: "x"
            language: en
        """,
        4,
        "probes[0].family",
        "unknown family 'styel'",
    ),
    "bad-regex": (
        """
        name: t
        probes:
          - id: a
            family: error_trap
            prompt: "x"
            language: en
            answer:
              regex: '(unclosed'
        """,
        8,
        "probes[0].answer.regex",
        "invalid regex",
    ),
    "regex-matches-everything": (
        """
        name: t
        probes:
          - id: a
            family: error_trap
            prompt: "x"
            language: en
            answer: {regex: 'yes|'}
        """,
        7,
        "probes[0].answer.regex",
        "empty string",
    ),
    "duplicate-id": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "x"
            language: en
          - id: a
            family: style
            prompt: "y"
            language: en
        """,
        7,
        "probes[1].id",
        "duplicate id 'a' (first defined at line 3)",
    ),
    "trap-without-answer": (
        """
        name: t
        probes:
          - id: ok-1
            family: style
            prompt: "fine"
            language: en
          - id: a
            family: error_trap
            prompt: "What is 2 + 2?"
            language: en
        """,
        7,
        "probes[1].answer",
        "required for family error_trap",
    ),
    "empty-prompt": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "   "
            language: en
        """,
        5,
        "probes[0].prompt",
        "must not be empty",
    ),
    "prompt-and-messages": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "x"
            messages: [{role: user, content: "x"}]
            language: en
        """,
        6,
        "probes[0].messages",
        "either prompt or messages",
    ),
    "last-turn-assistant": (
        """
        name: t
        probes:
          - id: a
            family: style
            language: en
            messages:
              - role: user
                content: "hi"
              - role: assistant
                content: "hello"
        """,
        9,
        "probes[0].messages[1].role",
        "last message must be a user turn",
    ),
    "unknown-role": (
        """
        name: t
        probes:
          - id: a
            family: style
            language: en
            messages:
              - {role: bot, content: "hi"}
        """,
        7,
        "probes[0].messages[0].role",
        "unknown role 'bot'",
    ),
    "typo-field": (
        """
        name: t
        probes:
          - id: a
            family: style
            promt: "x"
            language: en
        """,
        5,
        "probes[0].promt",
        "unknown field",
    ),
    "duplicate-key": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "x"
            language: en
            prompt: "y"
        """,
        7,
        "probes[0].prompt",
        "duplicate key (first given at line 5)",
    ),
    "tolerance-alone": (
        """
        name: t
        probes:
          - id: a
            family: error_trap
            prompt: "x"
            language: en
            answer:
              accept: ["4"]
              tolerance: 0.5
        """,
        9,
        "probes[0].answer.tolerance",
        "only applies together with number",
    ),
    "bad-language": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "x"
            language: english
        """,
        6,
        "probes[0].language",
        "does not match",
    ),
    "misspelt-key": (
        """
        name: t
        probes:
          - id: a
            family: style
            prompt: "x"
            langauge: en
        """,
        6,
        "probes[0].langauge",
        "unknown field",
    ),
    "missing-name": (
        """
        probes:
          - id: a
            family: style
            prompt: "x"
            language: en
        """,
        1,
        "name",
        "required field is missing",
    ),
    "empty-file": ("# nothing here\n", 1, "<root>", "empty"),
    "not-a-mapping": ("- just\n- a list\n", 1, "<root>", "expected a mapping"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_names_file_line_and_field(tmp_path, case):
    text, line, field, message = MALFORMED[case]
    path = write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(ProbeSetError) as caught:
        load_probe_set(path)
    err = caught.value
    assert (err.path, err.line, err.field) == (str(path), line, field), str(err)
    assert message in str(err)
    assert str(err).startswith(f"{path}:{line}: field '{field}': ")


def test_error_in_a_later_probe_points_at_that_probe(tmp_path):
    text = "name: t\nprobes:" + GOOD_PROBE + GOOD_PROBE.replace("ok-1", "ok-2").replace("style", "nope")
    with pytest.raises(ProbeSetError) as caught:
        load_probe_set(write(tmp_path, "later.yaml", text))
    assert (caught.value.line, caught.value.field) == (9, "probes[1].family")  # line 7 is blank


def test_duplicate_id_across_files_names_the_second_file(tmp_path):
    first = write(tmp_path, "a.yaml", "name: a\nprobes:" + GOOD_PROBE)
    second = write(tmp_path, "b.yaml", "name: b\nprobes:" + GOOD_PROBE.replace("ok-1", "ok-2") + GOOD_PROBE)
    with pytest.raises(ProbeSetError) as caught:
        load_probe_sets(tmp_path)
    err = caught.value
    assert (err.path, err.line, err.field) == (str(second), 8, "probes[1].id")
    assert f"already defined at {first}:3" in str(err)
    assert len(load_probe_sets([first])) == 1


def test_load_probe_sets_accepts_files_dirs_and_rejects_missing(tmp_path):
    a = write(tmp_path, "a.yaml", "name: a\nprobes:" + GOOD_PROBE)
    assert [s.name for s in load_probe_sets(str(a))] == ["a"]
    assert [s.name for s in load_probe_sets([tmp_path, a])] == ["a"]  # the same file is loaded once
    with pytest.raises(FileNotFoundError):
        load_probe_sets(tmp_path / "missing.yaml")
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(FileNotFoundError):
        load_probe_sets(tmp_path / "empty-dir")


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(PROBE_SET_SCHEMA)


# --- CLI helpers ---------------------------------------------------------------------------------


def test_cmd_validate_ok(capsys, shipped):
    assert cmd_probes("validate", []) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(shipped)
    for line, probe_set in zip(out, shipped):
        assert line == f"OK {probe_set.path} {len(probe_set.probes)} probes version {probe_set.version}"


def test_cmd_validate_reports_every_bad_file_without_traceback(tmp_path, capsys):
    good = write(tmp_path, "a.yaml", "name: a\nprobes:" + GOOD_PROBE)
    write(tmp_path, "b.yaml", "name: b\nprobes:" + GOOD_PROBE.replace("style", "nope"))
    write(tmp_path, "c.yaml", "name: c\nprobes: [")
    assert cmd_probes("validate", [str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith(f"OK {good} 1 probes version ")
    errors = captured.err.splitlines()
    assert len(errors) == 2 and "b.yaml:4: field 'probes[0].family'" in errors[0] and "c.yaml:" in errors[1]
    assert "Traceback" not in captured.err


def test_cmd_list_and_stats(capsys, probes):
    assert cmd_probes("list", []) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(probes)
    first = lines[0].split()
    assert first[:3] == [probes[0].id, probes[0].family, probes[0].language]
    assert all(len(line.split(None, 3)[3]) <= 60 for line in lines)
    assert cmd_probes("stats", []) == 0
    out = capsys.readouterr().out
    assert f"answerable: {sum(p.answer is not None for p in probes)} of {len(probes)}" in out
    for family in FAMILIES:
        assert re.search(rf"^{family}\s", out, re.M)


def test_cmd_user_errors_return_2(tmp_path, capsys):
    assert cmd_probes("frobnicate", []) == 2
    assert cmd_probes("list", [str(tmp_path / "nope.yaml")]) == 2
    bad = write(tmp_path, "bad.yaml", "name: b\nprobes:" + GOOD_PROBE.replace("style", "nope"))
    assert cmd_probes("stats", [str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown probes action" in err and "nope.yaml" in err and "bad.yaml:4:" in err
    assert "Traceback" not in err

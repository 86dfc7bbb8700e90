"""Which language a text is written in: lingua (lingua-language-detector), for the
check of free text at approval (``domain.incident.language_check`` decides).

The detector knows only the languages that matter here: the filings' (Swedish, Danish,
English), their neighbours an operator's staff may write in (Norwegian, Finnish,
German). Fewer languages, fewer models. It runs in low-accuracy mode (trigram models
only): measured here, 28 MB and about a second to load, against 200 MB and 15 s or more
under load for the high-accuracy models, and it agreed with them on the texts of the
seed cases but for the short Scandinavian ones the check does not judge. Detection is
CPU work that holds the GIL (milliseconds per text, 70 ms for 23,000 characters), so
callers run it in the engine's worker process (``offload.off_loop``), never on an event
loop that fires timers; the models load there once, on first use.
"""

from __future__ import annotations

from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

CODES: dict[Language, str] = {
    Language.SWEDISH: "sv",
    Language.DANISH: "da",
    Language.ENGLISH: "en",
    Language.BOKMAL: "nb",
    Language.NYNORSK: "nn",
    Language.FINNISH: "fi",
    Language.GERMAN: "de",
}


@cache
def detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*CODES).with_low_accuracy_mode().build()


def languages_of(texts: list[str]) -> list[str | None]:
    """Each text's language (ISO 639-1), or None where none of ``CODES`` fits."""
    found = detector().detect_languages_in_parallel_of(texts)
    return [CODES.get(language) if language else None for language in found]

"""The translations: every text of handlers/ translated in every shipped language, with the
same placeholders, and compiled; a catalog that was never compiled stops the bot."""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.language import DOMAIN, LANGUAGE_NAMES, LOCALES, CatalogNotCompiled, load_i18n

HANDLERS = LOCALES.parent
PLACEHOLDER = re.compile(r"\{(\w*)\}")
SHIPPED = sorted(path.name for path in LOCALES.iterdir() if path.is_dir())


def code_texts() -> set[str]:
    """Every text the handlers pass to `_()`."""
    return {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(HANDLERS), method_map=[("**.py", "python")], keywords={"_": None}
        )
        if isinstance(message, str)
    }


def catalog(language: str) -> dict[str, str]:
    """The language's .po: message id -> translation (fuzzy ones count as missing)."""
    with (LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        read = read_po(po)
    return {m.id: m.string for m in read if m.id and m.string and not m.fuzzy}  # type: ignore[misc]


def test_english_and_a_second_language_are_shipped_and_named_on_the_keyboard() -> None:
    assert "en" in SHIPPED and len(SHIPPED) >= 2
    assert set(SHIPPED) == set(LANGUAGE_NAMES)


@pytest.mark.parametrize("language", SHIPPED)
def test_every_text_in_the_code_is_translated_with_the_same_placeholders(language: str) -> None:
    texts, translated = code_texts(), catalog(language)
    missing = sorted(texts - set(translated))
    assert not missing, (
        f"{language} lacks {len(missing)} texts, e.g. {missing[:3]}: run the extract command "
        "of docs/i18n.md, translate them, then compile"
    )
    for text in texts:
        assert sorted(PLACEHOLDER.findall(translated[text])) == sorted(PLACEHOLDER.findall(text)), (
            f"{language}: the placeholders of {translated[text]!r} differ from {text!r}"
        )


@pytest.mark.parametrize("language", SHIPPED)
def test_the_compiled_catalog_says_what_the_po_file_says(language: str) -> None:
    folder = LOCALES / language / "LC_MESSAGES"
    with (folder / f"{DOMAIN}.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [text for text, string in catalog(language).items() if compiled.gettext(text) != string]
    assert not stale, (
        f"{folder / (DOMAIN + '.mo')} is older than its .po ({len(stale)} texts differ): "
        f"pybabel compile -d handlers/locales -D {DOMAIN}"
    )


def test_a_catalog_never_compiled_stops_the_start_naming_the_command(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    (locales / "ru" / "LC_MESSAGES" / f"{DOMAIN}.mo").unlink()
    with pytest.raises(CatalogNotCompiled, match="pybabel compile -d handlers/locales"):
        load_i18n("en", locales)


def test_a_default_language_without_a_catalog_is_refused() -> None:
    with pytest.raises(ValueError, match="DEFAULT_LANGUAGE=fr has no catalog"):
        load_i18n("fr")

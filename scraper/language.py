"""Language of a text: the only module that uses py3langid.

py3langid walks its byte automaton one byte at a time in Python and widens each
float16 weight row it reads; on a 400-character sample that is most of its cost.
:func:`detect_language` scores with the same model and the same float32
arithmetic in a few array operations, after checking once that it agrees with
py3langid's own ``classify`` (which it falls back to otherwise).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import py3langid
from py3langid import langid as py3langid_module

# Enough text to judge; more only costs time.
_SAMPLE_CHARS = 400
_MIN_CHARS = 20
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")
# py3langid's score for a masked column.
_FLOOR = float(np.finfo(np.float32).min)

# Texts (scripts, cases, decomposed accents) on which the array scoring must give
# py3langid's answer before it is trusted.
_SELF_CHECK = (
    "The quick brown fox jumps over the lazy dog while the committee debates the budget.",
    "Der schnelle braune Fuchs springt über den faulen Hund, während der Ausschuss tagt.",
    unicodedata.normalize("NFD", "Le conseil a voté mardi une hausse des tarifs à Besançon."),
    "El gobierno anunció nuevas medidas para reducir el precio de la electricidad.",
    "Chính phủ đã thông qua kế hoạch mới nhằm giảm giá điện cho các hộ gia đình.",
    "政府周二宣布了一项新的计划，旨在降低家庭的电费开支。",
    "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لخفض أسعار الكهرباء للأسر.",
    "Правительство во вторник объявило о новом плане снижения цен на электроэнергию.",
    "Српска влада је усвојила нови план за смањење цена електричне енергије.",
    "ALL CAPS HEADLINE ABOUT THE ELECTION RESULTS IN THE NORTHERN PROVINCES",
    "!!! ??? ... 12345 67890 ### $$$ %%% &&& *** ((( ))) === +++ ~~~ ^^^",
    "x",
)


@dataclass(frozen=True)
class _Model:
    """py3langid's model as arrays."""

    encode: Callable[[str], bytes]  # text -> the bytes the automaton reads
    next_state: npt.NDArray[np.uint32]  # transitions: a 256-entry row per distinct row
    row_start: npt.NDArray[np.intp]  # per state: where its row starts in next_state
    feature: npt.NDArray[np.int32]  # per state: the weight row it counts, or -1
    depth: int  # the longest string the automaton tracks
    weights: npt.NDArray[np.float16]  # per weight row: one weight per label
    prior: npt.NDArray[np.float32]  # per label
    labels: tuple[str, ...]
    aliases: tuple[tuple[int, int], ...]  # (first, later) columns of one label
    widen_offset: int | None  # see _widen; None: widened by numpy


@cache
def _identifier() -> Any:
    """py3langid's classifier with its default model and settings (untyped library), or
    None for a py3langid that builds it otherwise (its ``classify`` is used then)."""
    try:
        return py3langid_module.LanguageIdentifier.from_model_file(py3langid_module.MODEL_FILE)
    except (AttributeError, TypeError):
        return None


def _library_classify(text: str) -> str:
    """py3langid's own answer."""
    identifier = _identifier()
    if identifier is None:
        return str(py3langid.classify(text)[0])
    return str(identifier.classify(text)[0])


def _automaton_depth(next_state: npt.NDArray[np.uint32], row_start: npt.NDArray[np.intp]) -> int:
    """The length of the longest string the automaton tracks: its trie's depth.

    The automaton (Aho-Corasick) is in the state of the longest suffix of what it
    read that is in its trie, so the last ``depth`` bytes alone set its state. The
    shortest path to a state spells the state's string: a breadth-first walk
    numbers each state with its length. States share rows: each row is read once.
    """
    seen = np.zeros(len(row_start), dtype=bool)
    seen[0] = True
    read = np.zeros(len(next_state) // 256, dtype=bool)
    frontier = np.zeros(1, dtype=np.intp)
    every_byte = np.arange(256, dtype=np.intp)
    depth = 0
    while True:
        rows = np.unique(row_start[frontier] >> 8)
        rows = rows[~read[rows]]
        read[rows] = True
        reached = np.zeros(len(row_start), dtype=bool)
        for part in range(0, len(rows), 4096):  # 4096 rows at a time: 8 MB of indices
            starts = rows[part : part + 4096] << 8
            reached[next_state[(starts[:, None] + every_byte).ravel()]] = True
        reached &= ~seen
        if not reached.any():
            return depth
        seen |= reached
        frontier = np.flatnonzero(reached)
        depth += 1


def _arrays(identifier: Any) -> _Model | None:
    """The model's arrays, or None when py3langid lays them out in another way."""
    transitions = identifier.tk_nextmove
    weights = np.asarray(identifier.nb_ptc)
    row_start = np.asarray(identifier.tk_row, dtype=np.intp) << 8
    feature = np.asarray(identifier.tk_output, dtype=np.int32)
    labels = tuple(str(label) for label in identifier.nb_classes)
    if transitions.itemsize != 4 or weights.dtype != np.float16:
        return None
    if feature.shape != row_start.shape or weights.shape[1:] != (len(labels),):
        return None
    next_state = np.frombuffer(transitions, dtype=np.uint32)
    first: dict[str, int] = {}
    aliases = []
    for column, label in enumerate(labels):
        if label in first:
            aliases.append((first[label], column))
        else:
            first[label] = column
    magnitudes = weights.view(np.uint16) & 0x7FFF
    negative = weights.view(np.uint16) >= 0x8000
    offset = None
    # Normal numbers only: exponent bits neither all 0 (subnormal, zero) nor all 1 (inf, NaN).
    if magnitudes.min() >= 0x0400 and magnitudes.max() < 0x7C00:
        if negative.all():
            offset = _WIDEN_NEGATIVE
        elif not negative.any():
            offset = _WIDEN_POSITIVE
    return _Model(
        encode=identifier._encode,
        next_state=next_state,
        row_start=row_start,
        feature=feature,
        depth=_automaton_depth(next_state, row_start),
        weights=weights,
        prior=np.asarray(identifier.nb_pc, dtype=np.float32),
        labels=labels,
        aliases=tuple(aliases),
        widen_offset=offset,
    )


@cache
def _model() -> _Model | None:
    """The array model, if it classifies the check texts exactly as py3langid does."""
    identifier = _identifier()
    if identifier is None:
        return None
    try:
        model = _arrays(identifier)
    except (AttributeError, TypeError, ValueError):
        return None
    if model is None:
        return None
    for text in _SELF_CHECK:
        label = _classify(model, text)
        if label is not None and label != _library_classify(text):
            return None
    return model


# float16 bits shifted 13 places left, plus one of these, are the float32 bits of the same
# number when it is normal (float16's exponent bias 15 -> float32's 127) and its sign is
# the offset's (the shifted sign bit lands on bit 28 and is moved to bit 31).
_WIDEN_POSITIVE = (127 - 15) << 23
_WIDEN_NEGATIVE = (1 << 31) - (1 << 28) + _WIDEN_POSITIVE


def _widen(model: _Model, rows: npt.NDArray[np.float16]) -> npt.NDArray[np.float32]:
    """float16 -> float32, exact either way; the bit shift is several times faster."""
    if model.widen_offset is None:
        return rows.astype(np.float32)
    bits = np.left_shift(rows.view(np.uint16), 13, dtype=np.uint32)
    bits += np.uint32(model.widen_offset)
    return bits.view(np.float32)


def _classify(model: _Model, text: str) -> str | None:
    """py3langid's label for ``text``; None when no feature is found in it."""
    codes = np.frombuffer(model.encode(text), dtype=np.uint8).astype(np.intp)
    size = len(codes)
    # The state after each byte, from the `depth` bytes that end there, for all bytes at once.
    states = np.zeros(size, dtype=np.intp)
    for back in range(min(model.depth, size) - 1, -1, -1):
        index = model.row_start[states[back:]]
        index += codes[: size - back]
        states[back:] = model.next_state[index]
    found = model.feature[states]
    # Counted in order of first sight, as py3langid counts: the sum below then adds in its order.
    counted = Counter(found[found >= 0].tolist())
    if not counted:
        return None
    rows = np.fromiter(counted.keys(), dtype=np.intp, count=len(counted))
    counts = np.fromiter(counted.values(), dtype=np.float32, count=len(counted))
    scores: list[float] = (
        np.log1p(counts) @ _widen(model, model.weights.take(rows, axis=0)) + model.prior
    ).tolist()  # float32 -> float is exact: the comparisons below are numpy's
    for first, later in model.aliases:  # one score per label, as py3langid folds them
        scores[first] = max(scores[first], scores[later])
        scores[later] = _FLOOR
    return model.labels[scores.index(max(scores))]  # the first of equals, as argmax


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` for too little text."""
    sample = text[:_SAMPLE_CHARS]
    if len(sample.strip()) < _MIN_CHARS:
        return None
    model = _model()
    code = _classify(model, sample) if model is not None else None
    if code is None:
        code = _library_classify(sample)
    return code


def normalise_language(tag: str | None) -> str | None:
    """The primary subtag of a stated language (``en-US`` -> ``en``), or ``None``."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    return match.group(1).lower()

"""Stop words for transcribed spoken Norwegian Bokmål.

How this list was built:

1. Start from spaCy's ``nb`` list (211 words, from newspaper frequency lists).
2. Remove the content words in it that matter in interviews: nouns (``leder``, ``kontakt``,
   ``mennesker``, ``personer``, ``folk``, ``grunn``, ``saken``, ``kamp``, ``poeng``,
   ``runde``, ``kroner``, ``plass``, ``sted``, ``tid``, ``år``, ``land`` ...), adjectives
   (``viktig``, ``god``, ``stor``, ``ny``, ``klart`` ...) and full verbs (``tror``,
   ``mener``, ``ønsker``, ``viser``, ``sier``, ``gikk``, ``gjorde``, ``ligger`` ...), and
   newspaper artefacts (``kl``, ``ifølge``, ``opplyser``, ``skriver``, ``fjor``, ``bris``).
3. Complete the closed classes of Bokmål by hand: personal, possessive, reflexive,
   demonstrative, interrogative and indefinite pronouns and determiners, prepositions,
   conjunctions and subjunctions, the auxiliaries and modals in all their forms, and the
   commonest pronominal and degree adverbs.
4. Add what speech transcripts are full of and newspapers are not: hesitations (``eh``,
   ``ehm``, ``øh``, ``mm``, ``mhm``, ``hm``), answer particles (``ja``, ``nei``, ``jo``,
   ``ok``, ``okei``), discourse particles (``altså``, ``liksom``, ``sånn``, ``vel``,
   ``da``, ``nå``, ``jo``, ``bare``) and common spoken and dialect spellings of function
   words (``æ``, ``ho``, ``dem``, ``itj``, ``ikkje``, ``no``).
5. Multi-word fillers are entries with a space (``ikke sant``, ``på en måte``,
   ``for så vidt``); match them over consecutive tokens, e.g. with ``mark_stop_words``.
   Their parts are stop words only where they are function words anyway
   (``sant`` and ``måte`` are not).

Lower-case forms; compare with ``token.lower_`` (or the lemma). Deliberately **not**
included: content words such as ``leder``, ``kontakt``, ``mennesker``, ``personer``,
``grunn``, ``viktig``, ``tror``, ``mener``.
"""

from __future__ import annotations

from collections.abc import Sequence

_PRONOUNS = """
jeg meg min mitt mine du deg din ditt dine han ham hans hun henne hennes ho den det dens
dets vi oss vår vårt våre dere deres de dem seg sin sitt sine selv hverandre man en ens
denne dette disse hin hint hine slik slikt slike sånn sånt sånne samme
hvem hva hvilken hvilket hvilke hvis hvor hvordan hvorfor hvorledes når
noen noe noens ingen ingenting intet ikkeno all alle alt alles annen annet andre
hver hvert enhver ethvert hverandres begge ens
"""

_DETERMINERS_NUMERALS = """
en ei et ett den det de en to
"""

_PREPOSITIONS = """
av bak blant etter for foran fra før gjennom hos i ifra imellom innen innenfor inntil
langs med mellom mot om omkring over overfor på per pr rundt siden til tross under
utenfor uten ved via vs mot hos
"""

_CONJUNCTIONS = """
og eller men for så samt enten verken hverken både
at om hvis dersom fordi da når mens før etter enn som selv skjønt siden inntil idet
ettersom såfremt med mindre
"""

_AUXILIARIES = """
er var være vært blir ble bli blitt har hadde ha hatt
kan kunne kunnet skal skulle skullet vil ville villet må måtte måttet bør burde burdet
får fikk få fått tør turde
"""

_ADVERBS = """
ikke ikkje itj aldri alltid også òg bare enda ennå fortsatt igjen jo nok vel
nå no da så her der hit dit hvor derfor dermed likevel liksom altså egentlig faktisk
kanskje visst gjerne heller ganske litt mye mer mest mindre minst veldig svært så helt
nesten allerede akkurat bare også ut inn opp ned over frem fram bort hjem tilbake
sammen dessuten imidlertid ellers uansett iallfall ihvertfall hvertfall ofte sjelden
"""

_SPOKEN = """
eh ehm em øh øhm hm hmm mm mmm mhm mhmm m-m mm-m aha åja ja jaa jada jo joda nei neida
nja næ ok okei okey oki greit vel altså liksom sånn sånt sånne asså ass liksom jaha
nehei haha hehe ah å oi uff æ æ'kke du-vet skjønner
"""

_MULTIWORD = (
    "ikke sant", "på en måte", "for så vidt", "sånn sett", "i hvert fall", "i alle fall",
    "på sett og vis", "og sånn", "og sånt", "eller noe", "eller noe sånt",
    "du vet", "vet du", "skjønner du", "så att si", "så å si", "liksom sånn", "og så",
    "med en gang", "i grunnen",
)

STOP_WORDS: frozenset[str] = frozenset(
    w
    for block in (_PRONOUNS, _DETERMINERS_NUMERALS, _PREPOSITIONS, _CONJUNCTIONS,
                  _AUXILIARIES, _ADVERBS, _SPOKEN)
    for w in block.split()
) | frozenset(_MULTIWORD)

#: The multi-word entries of ``STOP_WORDS`` as token tuples, longest first.
STOP_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted({tuple(p.split()) for p in STOP_WORDS if " " in p}, key=lambda t: (-len(t), t)))


def is_stop_word(word: str) -> bool:
    """Whether a single token (any case) is a stop word."""
    return word.lower() in STOP_WORDS


def mark_stop_words(words: Sequence[str]) -> list[bool]:
    """For each token, whether it is a stop word or part of a multi-word stop phrase."""
    low = [w.lower() for w in words]
    marks = [w in STOP_WORDS for w in low]
    for i in range(len(low)):
        for phrase in STOP_PHRASES:
            if tuple(low[i:i + len(phrase)]) == phrase:
                for j in range(i, i + len(phrase)):
                    marks[j] = True
                break
    return marks

"""Build the word lists that qcode's leak check (``qcode/nlp/leaks.py``) ships with.

Three files are written to ``qcode/nlp/data/``:

``names-nb.txt``
    Norwegian given names and surnames, one per line as ``Name<TAB>kind`` where kind is
    ``given``, ``surname`` or ``given,surname``. Two sources:

    1. the person names (``PER`` entities) of the **NorNE train split**: the NDT files of
       ``ndt-nob/`` that are *not* in the UD dev or test split (a file belongs to the UD
       split that holds the majority of its sentences, compared as token sequences with
       ``ud-nob/no_bokmaal-ud-{dev,test}.conllu``; 180 of the 232 files are train). The
       first token of a multi-token name counts as a given name, the last as a surname,
       middle tokens as given names; a one-token name takes the role it has elsewhere
       (surname when unknown). Only name-like tokens seen at least ``MIN_NORNE_COUNT``
       times are kept, and none that is a common lower-case word (``lexicon``). Dev and
       test are never read for names, so they can measure the detector fairly.
    2. the hand-written lists below: common Norwegian given names and surnames, written
       from general knowledge (not copied from any publication or statistics table).

``places-nb.txt``
    Norwegian municipalities, towns, districts and counties, one per line, written from
    general knowledge (``PLACES`` below).

``lexicon-nb.txt.gz``
    Known lower-case Bokmål word forms: the lower-cased forms of the NorNE train split's
    tokens that are not proper nouns (NDT ``subst`` with ``prop``) and that are written in
    lower case at least once, plus every lower-case word of the shipped sample corpus
    (``corpora/``) and ``EXTRA_WORDS``. A capitalised word inside a sentence whose lower
    case is in the lexicon is an ordinary word, not a name.

Usage::

    uv run python scripts/nlp/build_name_gazetteer.py [--norne ../shared/data/norne]
        [--out qcode/nlp/data] [--check]

``--check`` rebuilds in memory and exits 1 if a written file differs (for CI).
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NORNE = REPO.parent / "shared" / "data" / "norne"
DEFAULT_OUT = REPO / "qcode" / "nlp" / "data"
CORPUS = REPO / "corpora"
MIN_NORNE_COUNT = 2
HEADLINE_MARK = "|"
NAME_TOKEN = re.compile(r"^[A-ZÆØÅÄÖÜÉ][a-zæøåäöüéèáóíúç]+(?:-[A-ZÆØÅÄÖÜÉ][a-zæøåäöüéèáóíúç]+)?$")
WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
LEXICON_FORM = re.compile(r"^[a-zæøåäöüéèáóíúçà]+(?:-[a-zæøåäöüéèáóíúçà]+)*$")

# --- hand-written lists (general knowledge) ------------------------------------------------

GIVEN_NAMES = """
Aage Abdi Adam Adrian Agnes Ahmed Aksel Ali Alma Amalie Amina Amund Andrea Andreas Ane
Anette Anita Ann Anna Anne Anne-Lise Anne-Marie Anders Anton Arild Arne Aron Asbjørn Astrid
Atle Aud Audun Aurora Bente Benjamin Berit Birger Birgitte Bjarne Bjørg Bjørn Bård Camilla
Carina Carl Cecilie Christian Christine Dag Dagny Daniel Didrik Edvard Eilif Einar Eirik
Eirin Eivind Eli Elias Elin Elisabeth Elise Ella Ellen Emil Emilie Emma Erik Erlend Eskil
Espen Eva Even Fatima Filip Finn Frida Frode Fredrik Gaute Geir Gerd Gisle Glenn Gro Gunhild
Gunn Gunnar Guro Gustav Halvor Hallvard Hanna Hanne Hans Harald Hassan Hedda Hege Heidi Helene
Helga Helge Henrik Henriette Hilde Hussein Håkon Ibrahim Ida Ine Inga Inger Ingeborg Ingrid
Ingvild Irene Isak Ivar Jakob Jan Jarle Jens Jenny Johan Johanne Johannes John Jon Jonas
Jorunn Jostein Julie Jørgen Kaja Karen Kari Karin Karl Karoline Kasper Katrine Kenneth Ketil
Kim Kirsten Kjell Kjersti Kjetil Knut Kristian Kristin Kristine Kristoffer Kåre Laila Lars
Lasse Leif Lena Lene Leon Liam Line Linda Linnea Lise Liv Live Lotte Lucas Ludvig Magne Magnus
Maja Malin Maren Margrethe Mari Maria Marianne Marit Marius Markus Marte Marthe Martin
Martine Maryam Mathias Mathilde Mats Merete Mette Mia Mikkel Mille Mohammed Mona Monica
Morten Muhammad Mustafa Nils Nina Noah Nora Nikolai Oda Odd Oddny Oddrun Ola Olav Ole
Oliver Olivia Omar Oskar Per Pernille Peder Petter Preben Pål Ragna Ragnar Ragnhild Randi
Rasmus Reidar Reidun Rigmor Robert Roar Roger Rolf Ronja Ronny Runar Rune Ruth Sander Sara
Sebastian Selma Sigbjørn Signe Sigrid Sigrun Sigurd Sigve Silje Simen Sindre Siri Sissel
Sivert Snorre Sofia Sofie Solfrid Solveig Sondre Steffen Steinar Stian Stig Stine Sunniva
Svein Sverre Synne Synnøve Terje Thea Therese Thomas Tiril Tobias Tommy Tone Tonje Tor
Torbjørn Tord Tore Torill Torstein Torunn Tove Trine Trond Trygve Trym Turid Tuva Ulrik Unni
Vebjørn Vegard Vetle Veronica Victoria Vidar Vigdis Viktor Vilde William Wenche Yngve Yusuf
Åge Åse Åshild Ørjan Øystein Øyvind Ådne Aisha Leila Zainab Agnieszka Piotr Tomasz Patrick
Kristen Mohamed Ahmad Abdullahi Yasmin Sana Hamza Idun Hedvig Alf Birk Brage Edel Eldbjørg
Embla Erling Gudrun Halldis Herborg Hjalmar Idar Ingar Ingolf Jofrid Kolbjørn Laurits Mads
Margit Ninni Odin Olga Oline Peter Rebekka Sigmund Sølvi Tage Thor Tobben Ulf Vibeke
"""

SURNAMES = """
Aas Aasen Ahmed Ali Amundsen Andersen Andreassen Andresen Antonsen Arnesen Aune Bakke Bakken
Berg Berge Berntsen Birkeland Bjerke Bjørklund Brekke Bråthen Carlsen Christensen Dahl Dale
Danielsen Edvardsen Eide Eliassen Ellefsen Ellingsen Engen Enger Eriksen Evensen Fjeld Fossum
Fredriksen Gjerde Gulbrandsen Gundersen Hagen Halvorsen Hansen Hanssen Hauge Haugen Haugland
Helland Henriksen Hermansen Hoel Holm Hovde Hovland Hussain Isaksen Iversen Jacobsen Jakobsen
Jensen Jenssen Johannessen Johansen Johnsen Jørgensen Karlsen Khan Kleven Knudsen Knutsen
Kristensen Kristiansen Kristoffersen Larsen Lie Lien Lorentzen Lunde Lund Løken Martinsen
Mathisen Mikkelsen Moe Moen Mohammed Myhre Myklebust Nguyen Nielsen Nilsen Nilssen Nordby
Nygård Næss Olsen Ottesen Paulsen Pedersen Pettersen Rasmussen Ruud Rønning Sande Sandvik
Sivertsen Simonsen Sletten Solbakken Solberg Solheim Steen Strand Strøm Sunde Svendsen Sæther
Sørensen Tangen Teigen Thomassen Thorsen Tollefsen Torgersen Tveit Tvedt Vik Vold Wold
Ødegård Aarseth Nordahl Hegge Grønli Fjellstad Bjørnstad Skogen Skaug Stene Stokke Storm
Nordli Hole Rustad Røed Sandberg Sundby Sætre Tande Tufte Ulvestad Vestby Westby Øien Østby
"""

PLACES = """
Oslo Bergen Trondheim Stavanger Kristiansand Drammen Fredrikstad Sandnes Tromsø Sarpsborg
Skien Ålesund Sandefjord Haugesund Tønsberg Moss Porsgrunn Bodø Arendal Hamar Larvik Halden
Lillehammer Harstad Molde Kongsberg Gjøvik Horten Rana Kristiansund Jessheim Elverum Ski
Askim Kongsvinger Steinkjer Alta Narvik Grimstad Leirvik Stord Egersund Levanger Hønefoss
Ringerike Notodden Førde Florø Brønnøysund Mosjøen Namsos Kirkenes Vadsø Hammerfest Vardø
Honningsvåg Lillestrøm Lørenskog Bærum Asker Sandvika Nittedal Ullensaker Nannestad Eidsvoll
Råholt Kløfta Ås Vestby Frogn Drøbak Nesodden Oppegård Kolbotn Enebakk Aurskog-Høland Rælingen
Sørum Gran Jevnaker Lunner Hadeland Brumunddal Moelv Raufoss Toten Lena Otta Vinstra Dombås
Lom Vågå Fagernes Valdres Tynset Røros Oppdal Orkanger Orkland Melhus Stjørdal Malvik Verdal
Rørvik Sandnessjøen Svolvær Leknes Sortland Stokmarknes Finnsnes Senja Bardufoss Setermoen
Skjervøy Karasjok Kautokeino Tana Båtsfjord Berlevåg Lakselv Voss Odda Kvinnherad Husnes
Sogndal Lærdal Årdal Nordfjordeid Stryn Måløy Volda Ørsta Ulsteinvik Fosnavåg Åndalsnes
Sunndalsøra Surnadal Averøy Bryne Klepp Sola Jørpeland Sauda Kopervik Karmøy Åkrehamn
Flekkefjord Farsund Mandal Lindesnes Vennesla Lillesand Risør Tvedestrand Kragerø Seljord
Rjukan Tinn Bamble Stathelle Langesund Holmestrand Svelvik Røyken Hurum Lier Hokksund
Mjøndalen Vikersund Modum Geilo Gol Nesbyen Flå Hallingdal Numedal Rakkestad Mysen Eidsberg
Spydeberg Råde Rygge Hvaler Våler Trysil Kongsvinger Eidskog Grue Åsnes Flisa Stange Løten
Ringsaker Nes Rena Koppang Alvdal Folldal Sel Skjåk Lesja Dovre Ringebu Øyer Fåberg
Biri Skreia Lillesand Evje Bygland Valle Hovden Sirdal Kvinesdal Lyngdal Vigeland Søgne
Songdalen Froland Birkeland Åmli Vegårshei Gjerstad Drangedal Nissedal Kviteseid Vinje
Haukeli Sauland Hjartdal Sauherad Bø Nome Ulefoss Siljan Andebu Stokke Nøtterøy
Tjøme Færder Tjølling Hedrum Lardal Sande Hole Krødsherad Sigdal Flesberg Rollag Nore
Uvdal Hemsedal Ål Nesodden Asker Heggedal Bjørkelangen Skedsmo Strømmen Fetsund Frogner
Grünerløkka Grorud Stovner Alna Furuset Holmlia Tøyen Majorstuen Sagene Nordstrand Ullern
Gamle Oslo Søndre Nordstrand Vestre Aker Nordre Aker Bjerke Ammerud Romsås Mortensrud
Åsane Fana Laksevåg Fyllingsdalen Arna Loddefjord Ytrebygda Bergenhus Årstad Heimdal Byåsen
Lade Tiller Saupstad Kattem Madla Hundvåg Tasta Hinna Hillevåg Eiganes Lambertseter
Bryn Ryen Manglerud Bøler Haugerud Trosterud Vålerenga Kampen Gamlebyen Sinsen Tåsen
Nydalen Storo Grefsen Kjelsås Sandaker Torshov Bislett Fagerborg Homansbyen Skøyen
Innlandet Viken Vestland Rogaland Agder Trøndelag Nordland Troms Finnmark Telemark Vestfold
Østfold Akershus Buskerud Hedmark Oppland Hordaland Sunnmøre Nordmøre Romsdal Gudbrandsdalen
Østerdalen Lofoten Vesterålen Helgeland Salten Ofoten Hardanger Sogn Jæren Setesdal Romerike
Mo i Rana Nordre Follo Øvre Eiker Nedre Eiker Vestre Toten Østre Toten Nord-Fron Sør-Fron
Nord-Aurdal Sør-Aurdal Nord-Odal Sør-Odal Indre Østfold Midt-Telemark Hitra Frøya Fosen
Orkdal Meldal Skaun Selbu Tydal Holtålen Midtre Gauldal Rennebu Oppdal Snåsa Grong Nærøysund
Vefsn Hemnes Saltdal Fauske Steigen Hamarøy Lødingen Andøy Hadsel Bø Øksnes Vågan
Vestvågøy Flakstad Moskenes Balsfjord Målselv Bardu Lyngen Storfjord Kåfjord Nordreisa
Kvænangen Loppa Hasvik Måsøy Nordkapp Porsanger Lebesby Gamvik Nesseby Sør-Varanger
"""

EXTRA_WORDS = """
hen hens henne vedkommende ler pause eh ehm mhm hm nja joda neida javel altså liksom
jobbsøker jobbsøkeren jobbspesialist jobbspesialisten jobbspesialister veileder veilederen
kommune kommunen intervjuer informant moderator
"""

# Words that are never names in this domain, even when a source lists them (NorNE tags
# a few of them as PER in headlines or quotes).
NOT_NAMES = {"Nav", "Nord", "Sør", "Øst", "Vest", "Gud", "Herre", "Kong", "Dronning", "Prins",
             "Prinsesse", "Fru", "Frøken", "Herr", "Sankt", "Von", "Van", "Jesus", "Jesu",
             "Kristus", "Guds", "Satan", "Monaco", "Avløyp", "Psy", "Ullevålseter"}
MIN_NAME_LENGTH = 3  # for NorNE names; the hand-written lists may hold shorter ones


# --- NorNE --------------------------------------------------------------------------------

def read_blocks(path: Path) -> list[list[list[str]]]:
    """Token rows of each sentence of a CoNLL(-U) file (comments dropped)."""
    blocks: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            if rows:
                blocks.append(rows)
            rows = []
        elif not line.startswith("#"):
            rows.append(line.split("\t"))
    if rows:
        blocks.append(rows)
    return blocks


def name_tag(misc: str) -> str:
    for part in misc.split("|"):
        if part.startswith("name="):
            return part[5:]
    return "O"


def train_files(norne: Path) -> list[Path]:
    """The NDT files of the UD train split: those whose sentences are mostly not dev/test."""
    ud: dict[str, Counter[tuple[str, ...]]] = {}
    for split in ("dev", "test"):
        path = norne / "ud-nob" / f"no_bokmaal-ud-{split}.conllu"
        ud[split] = Counter(tuple(r[1] for r in rows if r[0].isdigit())
                            for rows in read_blocks(path))
    out = []
    for path in sorted((norne / "ndt-nob").glob("*.conll")):
        sents = read_blocks(path)
        keys = [tuple(r[1] for r in rows if r[1] != HEADLINE_MARK) for rows in sents]
        votes = {s: sum(k in ud[s] for k in keys) for s in ud}
        best = max(votes, key=lambda s: votes[s])
        if votes[best] * 2 <= len(sents):
            out.append(path)
    return out


def norne_sentences(paths: Iterable[Path]) -> Iterable[list[list[str]]]:
    for path in paths:
        yield from read_blocks(path)


def norne_lexicon(paths: list[Path]) -> set[str]:
    """Lower-cased non-proper-noun forms that are written in lower case at least once."""
    lower_seen: set[str] = set()
    for rows in norne_sentences(paths):
        for r in rows:
            form, pos, feats = r[1], r[3], r[5]
            if pos == "subst" and "prop" in feats.split("|"):
                continue
            if form == form.lower() and LEXICON_FORM.match(form):
                lower_seen.add(form)
    return lower_seen


def norne_names(paths: list[Path], lexicon: set[str]) -> dict[str, set[str]]:
    """Name tokens of PER entities with their roles (given/surname), frequent ones only."""
    counts: Counter[str] = Counter()
    roles: dict[str, Counter[str]] = defaultdict(Counter)
    singles: set[str] = set()
    for rows in norne_sentences(paths):
        entity: list[str] = []
        tags = [(r[1], name_tag(r[9])) for r in rows if r[1] != HEADLINE_MARK]
        for form, tag in [*tags, ("", "O")]:
            if tag.startswith("I-PER") and entity:
                entity.append(form)
                continue
            if entity:
                if len(entity) == 1:
                    singles.add(entity[0])
                    counts[entity[0]] += 1
                else:
                    for i, tok in enumerate(entity):
                        counts[tok] += 1
                        roles[tok]["surname" if i == len(entity) - 1 else "given"] += 1
            entity = [form] if tag.startswith("B-PER") else []
    out: dict[str, set[str]] = {}
    for tok, n in counts.items():
        if (n < MIN_NORNE_COUNT or len(tok) < MIN_NAME_LENGTH or not NAME_TOKEN.match(tok)
                or tok in NOT_NAMES):
            continue
        if tok.endswith("s") and tok[:-1] in counts:  # a possessive: the detector adds -s
            continue
        if tok.lower() in lexicon or any(p.lower() in lexicon for p in tok.split("-")):
            continue
        kinds = {k for k, c in roles[tok].items() if c} or {"surname"}
        out[tok] = kinds
    return out


# --- corpus -------------------------------------------------------------------------------

def corpus_words(corpus: Path) -> set[str]:
    """Every word of the sample corpus that is written in lower case there."""
    words: set[str] = set()
    for path in sorted(corpus.rglob("*")):
        if path.suffix.lower() not in {".txt", ".vtt", ".csv"}:
            continue
        for m in WORD.finditer(path.read_text(encoding="utf-8")):
            w = m.group()
            if w == w.lower() and LEXICON_FORM.match(w):
                words.add(w)
    return words


# --- build --------------------------------------------------------------------------------

def build(norne: Path) -> dict[str, bytes]:
    paths = train_files(norne)
    if len(paths) != 180:
        raise SystemExit(f"expected 180 NorNE train files, found {len(paths)}")
    lexicon = norne_lexicon(paths) | corpus_words(CORPUS) | set(EXTRA_WORDS.split())
    places = sorted({p.strip() for p in PLACES.strip().split("\n") for p in _split_places(p)})

    names: dict[str, set[str]] = defaultdict(set)
    place_set = set(places)
    for tok, kinds in norne_names(paths, lexicon).items():
        if tok not in place_set:
            names[tok] |= kinds
    for tok in GIVEN_NAMES.split():
        names[tok].add("given")
    for tok in SURNAMES.split():
        names[tok].add("surname")

    header_names = (
        "# qcode name gazetteer (Norwegian given names and surnames), UTF-8, one name per line:\n"
        "# NAME<TAB>given | surname | given,surname.\n"
        "# Rebuilt by scripts/nlp/build_name_gazetteer.py.\n"
        "# Sources: (1) name tokens of PER entities in the NorNE train split (ltgoslo/norne,\n"
        "# NDT files not in the UD dev/test splits), seen at least "
        f"{MIN_NORNE_COUNT} times and not\n"
        "# common lower-case words; (2) hand-written lists of common Norwegian given names and\n"
        "# surnames written from general knowledge for qcode.\n")
    lines = [f"{n}\t{','.join(sorted(k))}" for n, k in sorted(names.items())]
    header_places = (
        "# qcode place gazetteer: Norwegian municipalities, towns, districts and regions,\n"
        "# UTF-8, one per line, written from general knowledge for qcode.\n"
        "# Rebuilt by scripts/nlp/build_name_gazetteer.py.\n")
    lex = "\n".join(sorted(lexicon)) + "\n"
    return {
        "names-nb.txt": (header_names + "\n".join(lines) + "\n").encode(),
        "places-nb.txt": (header_places + "\n".join(places) + "\n").encode(),
        # mtime=0 keeps the gzip bytes reproducible
        "lexicon-nb.txt.gz": gzip.compress(lex.encode(), compresslevel=9, mtime=0),
    }


MULTI_WORD_PLACES = ("Mo i Rana", "Nordre Follo", "Øvre Eiker", "Nedre Eiker", "Vestre Toten",
                     "Østre Toten", "Indre Østfold", "Midtre Gauldal", "Gamle Oslo",
                     "Søndre Nordstrand", "Vestre Aker", "Nordre Aker")


def _split_places(line: str) -> list[str]:
    """Words of a PLACES line, keeping the multi-word names together."""
    out: list[str] = []
    for multi in MULTI_WORD_PLACES:
        if multi in line:
            out.append(multi)
            line = line.replace(multi, " ")
    return out + line.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--norne", type=Path, default=DEFAULT_NORNE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the files on disk differ")
    args = parser.parse_args(argv)
    norne = args.norne.expanduser().resolve()
    if not (norne / "ndt-nob").is_dir() or not (norne / "ud-nob").is_dir():
        print(f"NorNE data not found in {norne} (need ndt-nob/ and ud-nob/)", file=sys.stderr)
        return 2
    files = build(norne)
    if args.check:
        stale = [n for n, data in files.items()
                 if not (args.out / n).exists() or (args.out / n).read_bytes() != data]
        for n in stale:
            print(f"out of date: {args.out / n}", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for n, data in files.items():
        (args.out / n).write_bytes(data)
        print(f"wrote {args.out / n} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

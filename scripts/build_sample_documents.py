"""Build the two fictional planning documents of the qcode sample corpus.

Writes
    corpora/dokumenter/samarbeidsavtale_nord.docx
    corpora/dokumenter/tiltaksplan_sor.pdf

All text is fictional and lives in this file. Run from the repository root:

    uv run --no-project --with python-docx --with fpdf2 python scripts/build_sample_documents.py

Output is deterministic: fixed document dates, fixed zip entry times for the
DOCX, and a fixed creation date (and hence file id) for the PDF.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "corpora" / "dokumenter"

FIXED_DATE = dt.datetime(2026, 1, 15, 9, 0, 0, tzinfo=dt.UTC)
ZIP_DATE = (2026, 1, 15, 9, 0, 0)

# ---------------------------------------------------------------------------
# Samarbeidsavtale, kontor Nord (DOCX)
# ---------------------------------------------------------------------------
# Blocks: ("h1"|"h2", text), ("p", text), ("ol", [items]), ("ul", [items]),
# ("table", [header, *rows])

AVTALE_TITLE = "Samarbeidsavtale mellom jobbspesialister og veiledere ved (kontoret)"

AVTALE: list[tuple] = [
    ("p", "Vedtatt i ledermøtet 14. januar 2026. Gjelder fra 1. februar 2026 til 31. januar 2027."),
    ("h2", "1. Formål"),
    (
        "p",
        "Avtalen skal gjøre samarbeidet mellom jobbspesialistene i IPS-teamet og veilederne i "
        "oppfølgingsavdelingen mer forutsigbart, både for de ansatte og for jobbsøkerne. Den beskriver "
        "hvordan en jobbsøker kommer inn i IPS, hvordan vi holder hverandre orientert, og hvem som har "
        "ansvar for hvilke oppgaver. Avtalen erstatter ikke regelverket eller faglige vurderinger i den "
        "enkelte sak, men skal gi et felles utgangspunkt.",
    ),
    ("h2", "2. Bakgrunn"),
    (
        "p",
        "IPS (individuell jobbstøtte) har vært en del av tilbudet ved (kontoret) siden 2022. "
        "Evalueringen høsten 2025 viste at samarbeidet i mange saker fungerer godt, særlig der "
        "jobbspesialist og veileder kjenner hverandre og har hyppig kontakt. Samtidig kom det fram at "
        "rutinene for innsøking oppleves som tunge, at informasjon om status i sakene ikke alltid når "
        "fram, og at det er uklart hvem som skal gjøre hva når det er aktuelt med lønnstilskudd. "
        "Flere ansatte pekte også på at hyppige bytter av veileder gjør det vanskelig å holde "
        "kontinuiteten i oppfølgingen.",
    ),
    (
        "p",
        "Avtalen er utarbeidet i en arbeidsgruppe med to jobbspesialister, tre veiledere og "
        "(leder). Utkastet ble drøftet på fagmøtet i desember, og innspillene derfra er tatt inn.",
    ),
    ("h2", "3. Prinsipper for samarbeidet"),
    (
        "ul",
        [
            "Jobbsøkeren står i sentrum. Ønsker og mål hos jobbsøkeren skal styre hvilken jobb vi "
            "leter etter, ikke hva vi tror er realistisk på forhånd.",
            "Alle som ønsker ordinært arbeid, skal få tilbud om å bli vurdert for IPS. Vi sorterer "
            "ikke bort jobbsøkere fordi de «ikke er klare ennå».",
            "Veileder og jobbspesialist er likeverdige samarbeidspartnere med ulike oppgaver. Vi "
            "snakker om «vi» og «våre jobbsøkere», ikke om «dine» og «mine».",
            "Vi gir hverandre beskjed tidlig, også når noe ikke går som planlagt.",
            "Uenighet tas opp direkte og saklig, og ved behov i det faste samarbeidsmøtet.",
        ],
    ),
    ("h2", "4. Rutiner"),
    (
        "ol",
        [
            "Innsøking. Veileder snakker med jobbsøkeren om IPS og sender et kort henvisningsskjema "
            "til IPS-teamets felles postkasse. Skjemaet skal inneholde kontaktopplysninger, hva "
            "jobbsøkeren selv ønsker, og opplysninger om helse som er relevante for oppfølgingen. "
            "IPS-teamet svarer innen fem virkedager, og gir beskjed dersom det er venteliste.",
            "Oppstartsmøte. Før oppstart holdes et felles møte med jobbsøker, veileder og "
            "jobbspesialist. Møtet skal vare i inntil 30 minutter og kan holdes på video. Her avklares "
            "mål, hva som er prøvd tidligere, og hvordan partene holder kontakt.",
            "Felles møter. IPS-teamet og veilederne i oppfølgingsavdelingen møtes hver andre tirsdag "
            "kl. 09.00–10.00. Møtet brukes til drøfting av konkrete saker, ikke til presentasjoner. "
            "En gang i kvartalet settes halve møtet av til å snakke om selve samarbeidet: hva fungerer, "
            "og hva må endres.",
            "Lønnstilskudd og andre virkemidler. Jobbspesialisten kan orientere arbeidsgiver om at "
            "lønnstilskudd er et mulig virkemiddel, men skal ikke love tilskudd, varighet eller sats. "
            "Jobbspesialisten sender veileder et kort grunnlag (arbeidsgiver, stilling, oppstart, "
            "tilretteleggingsbehov). Veileder vurderer saken og fatter vedtak, som hovedregel innen "
            "ti virkedager.",
            "Statusmelding. Jobbspesialisten sender veileder en kort statusmelding hver måned for "
            "felles jobbsøkere, og straks dersom jobbsøkeren starter i jobb, avbryter eller ikke "
            "møter over tid.",
            "Bytte av veileder. Ved bytte av veileder skal ny veileder og jobbspesialist ha et kort "
            "overføringsmøte innen to uker. Så langt det er mulig, skal jobbsøkere i IPS beholde samme "
            "veileder gjennom hele løpet.",
            "Oppfølging etter ansettelse. Når jobbsøkeren har fått jobb, avtaler veileder og "
            "jobbspesialist hvem som følger opp hva, og når saken skal avsluttes hos Nav.",
        ],
    ),
    ("h2", "5. Ansvarsfordeling"),
    (
        "p",
        "Tabellen viser hvem som har hovedansvaret for de viktigste oppgavene. Der begge er oppført, "
        "skal oppgaven løses i samarbeid, men den som står først tar initiativet.",
    ),
    (
        "table",
        [
            ("Oppgave", "Veileder", "Jobbspesialist"),
            ("Informere jobbsøker om IPS", "Hovedansvar", "Bistår ved behov"),
            ("Sende henvisning (innsøking)", "Hovedansvar", "Bekrefter mottak innen fem dager"),
            ("Kalle inn til oppstartsmøte", "Deltar", "Hovedansvar"),
            ("Jobbsøk og kontakt med arbeidsgivere", "Orienteres", "Hovedansvar"),
            ("Vurdere og fatte vedtak om lønnstilskudd", "Hovedansvar", "Sender grunnlag"),
            ("Aktivitetsplan og dokumentasjon i saken", "Hovedansvar", "Gir innspill"),
            ("Månedlig statusmelding", "Mottar", "Hovedansvar"),
            ("Oppfølging på arbeidsplassen", "Orienteres", "Hovedansvar"),
            ("Vurdering av aktivitetsplikt og ytelser", "Hovedansvar", "Drøftes i felles samtale"),
        ],
    ),
    ("h2", "6. Aktivitetsplikt og krav"),
    (
        "p",
        "Veileder har ansvaret for vurderinger etter regelverket, også når det gjelder aktivitetsplikt "
        "og konsekvenser for ytelser. Når slike spørsmål blir aktuelle for en jobbsøker i IPS, skal "
        "veileder og jobbspesialist drøfte saken før jobbsøkeren kontaktes. Der det er hensiktsmessig, "
        "tas samtalen med jobbsøkeren sammen, slik at jobbsøkeren får samme budskap fra begge.",
    ),
    ("h2", "7. Ledelsens rolle"),
    (
        "p",
        "(leder) har ansvar for at avtalen blir kjent for alle ansatte, og for at nyansatte veiledere "
        "får en innføring i IPS i løpet av de første fire ukene. Tid til oppstartsmøter og felles møter "
        "regnes med når arbeidsmengden i porteføljene vurderes.",
    ),
    ("h2", "8. Evaluering"),
    (
        "p",
        "Avtalen evalueres i januar 2027. Jobbspesialister og veiledere inviteres til å gi innspill, "
        "og evalueringen legges fram i et felles møte før avtalen eventuelt fornyes.",
    ),
    ("p", "For (kontoret): (leder), avdelingsleder, og (leder), teamleder IPS"),
]

# ---------------------------------------------------------------------------
# Tiltaksplan, kontor Sør (PDF)
# ---------------------------------------------------------------------------

PLAN_TITLE = "Tiltaksplan for IPS ved (kontoret) 2026"

PLAN: list[tuple] = [
    ("p", "Versjon 1.0, godkjent av ledergruppen 20. januar 2026."),
    ("h2", "1. Innledning"),
    (
        "p",
        "Denne planen beskriver mål og tiltak for arbeidet med individuell jobbstøtte (IPS) ved "
        "(kontoret) i 2026. Planen bygger på resultatene fra 2025, på innspill fra ansatte i IPS-teamet "
        "og i oppfølgingsavdelingen, og på kommunens mål om at flere med psykiske helseproblemer "
        "skal komme i ordinært arbeid.",
    ),
    ("h2", "2. Status ved utgangen av 2025"),
    (
        "p",
        "IPS-teamet besto ved utgangen av året av fire jobbspesialister, hvorav én stilling var "
        "ubesatt fra september til november. I løpet av 2025 fikk 58 jobbsøkere oppfølging, og 19 "
        "startet i ordinært arbeid. Teamet holder til i (kommune)s lokaler i et annet bygg enn "
        "oppfølgingsavdelingen, og er til stede på kontoret én dag i uken.",
    ),
    (
        "p",
        "Antall henvisninger varierer mye mellom veilederne. En stor del av henvisningene kommer fra "
        "ungdomsteamet, mens flere veiledere i andre team ikke har henvist noen. I samme periode ble "
        "et betydelig antall brukere sendt til arbeidsrettede tiltak hos eksterne tiltaksarrangører, "
        "også brukere som selv har uttrykt ønske om ordinært arbeid.",
    ),
    (
        "p",
        "I medarbeiderundersøkelsen og i evalueringssamtalene høsten 2025 beskrev mange ansatte "
        "samarbeidet som personavhengig. Enkelte veiledere har tett og god kontakt med "
        "jobbspesialistene, mens andre sjelden eller aldri har møtt dem. Flere veiledere oppga at de "
        "ikke visste hvem de skulle kontakte, eller at de valgte andre tiltak fordi de ble satt på "
        "venteliste. Jobbspesialistene på sin side etterlyste tidligere involvering og bedre "
        "informasjon om jobbsøkernes tidligere løp.",
    ),
    ("h2", "3. Mål for 2026"),
    (
        "ul",
        [
            "Minst 70 jobbsøkere skal få oppfølging fra IPS i løpet av året.",
            "Minst 25 jobbsøkere skal starte i ordinært arbeid eller utdanning.",
            "Alle veiledere i oppfølgingsavdelingen skal kjenne til IPS og vite hvordan de henviser.",
            "Ventetiden fra henvisning til oppstart skal ikke overstige fire uker.",
        ],
    ),
    ("h2", "4. Tiltak"),
    (
        "ol",
        [
            "Økt tilstedeværelse. Jobbspesialistene skal være på kontoret tirsdager og torsdager, "
            "med faste arbeidsplasser i samme område som veilederne.",
            "Felles møter. Det månedlige møtet mellom IPS-teamet og ungdomsteamet utvides til alle "
            "team i oppfølgingsavdelingen. Møtet legges innenfor arbeidstiden.",
            "Opplæring. Nyansatte veiledere får en innføring i IPS, og hospiterer en dag med en "
            "jobbspesialist i løpet av de første tre månedene.",
            "Enklere innsøking. Henvisningsskjemaet forenkles, og det innføres et kort oppstartsmøte "
            "med jobbsøker, veileder og jobbspesialist.",
            "Oversikt over kapasitet. IPS-teamet publiserer ledig kapasitet og eventuell venteliste på "
            "intranettet hver fjerde uke.",
            "Valg av tiltak. Før en bruker som ønsker ordinært arbeid sendes til et tiltak hos ekstern "
            "tiltaksarrangør, skal veileder vurdere om IPS er et bedre alternativ.",
            "Lønnstilskudd. Det utarbeides en rutine for samarbeid om lønnstilskudd, slik at "
            "arbeidsgiver får raskt og tydelig svar.",
        ],
    ),
    (
        "p",
        "Tiltak 1 til 5 skal være gjennomført innen 1. juni 2026. Tiltak 6 og 7 krever at "
        "oppfølgingsavdelingen og IPS-teamet blir enige om felles rutiner, og skal være på plass "
        "innen 1. oktober. Erfaringer fra jobbsøkerne selv skal hentes inn underveis, blant annet "
        "gjennom korte samtaler ved avslutning av oppfølgingen.",
    ),
    ("h2", "5. Faglig innhold"),
    (
        "p",
        "IPS bygger på at alle som ønsker å jobbe, skal få hjelp til det. Begrepet «arbeidsklar» skal "
        "derfor ikke brukes som et vilkår for å bli henvist. Samtidig har veilederne ansvar for "
        "aktivitetsplikt og andre krav etter regelverket. I 2026 skal vi på fagmøtene drøfte hvordan "
        "krav og frivillighet kan forenes i praksis, slik at jobbsøkeren opplever en helhetlig "
        "oppfølging og ikke to ulike budskap fra samme kontor.",
    ),
    (
        "p",
        "Samarbeidet skal bygge på likeverd mellom rollene. Vi vil unngå at IPS omtales som en "
        "«spydspiss» eller et eget prosjekt ved siden av det øvrige arbeidet på kontoret. Resultatene "
        "for jobbsøkere som kommer i arbeid, skal presenteres som felles resultater for veiledere og "
        "jobbspesialister – ikke som resultater for IPS-teamet alene.",
    ),
    ("h2", "6. Ansvar og oppfølging"),
    (
        "p",
        "(leder) har det overordnede ansvaret for planen. Teamleder for IPS og teamlederne i "
        "oppfølgingsavdelingen har ansvar for gjennomføringen av tiltakene i sine team. Status "
        "rapporteres til ledergruppen hvert kvartal.",
    ),
    ("h2", "7. Risiko"),
    (
        "p",
        "Den største risikoen er at veilederne ikke får tid til samarbeidet på grunn av store "
        "porteføljer. Vakanser i IPS-teamet kan også gi ventetid og føre til at veiledere velger "
        "andre tiltak. Ledergruppen skal følge dette særskilt.",
    ),
    ("h2", "8. Evaluering"),
    (
        "p",
        "Planen evalueres i desember 2026. Evalueringen skal omfatte både måltall og ansattes "
        "erfaringer med samarbeidet, og danne grunnlag for planen for 2027.",
    ),
]


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed entry times and order, for reproducible output."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def build_docx(path: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    doc.add_heading(AVTALE_TITLE, level=1)
    for kind, content in AVTALE:
        if kind == "h2":
            doc.add_heading(content, level=2)
        elif kind == "p":
            doc.add_paragraph(content)
        elif kind == "ul":
            for item in content:
                doc.add_paragraph(item, style="List Bullet")
        elif kind == "ol":
            for item in content:
                doc.add_paragraph(item, style="List Number")
        elif kind == "table":
            header, *rows = content
            table = doc.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, header, strict=False):
                cell.text = ""
                cell.paragraphs[0].add_run(text).bold = True
            for row in rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=False):
                    cell.text = text
        else:
            raise ValueError(kind)

    cp = doc.core_properties
    cp.title = AVTALE_TITLE
    cp.author = "(kontoret)"
    cp.last_modified_by = "(kontoret)"
    cp.language = "nb-NO"
    cp.revision = 1
    naive = FIXED_DATE.replace(tzinfo=None)
    cp.created = naive
    cp.modified = naive
    cp.last_printed = naive

    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))


DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")


def build_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(PLAN_TITLE)
    pdf.set_author("(kontoret)")
    pdf.set_lang("nb-NO")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=20)

    regular, bold = DEJAVU_DIR / "DejaVuSans.ttf", DEJAVU_DIR / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        family = "DejaVu"

        def clean(s: str) -> str:
            return s
    else:  # core font: latin-1 only (covers æøå and «»)
        family = "Helvetica"

        def clean(s: str) -> str:
            return s.replace("–", "-").replace("—", "-")

    pdf.add_page()
    width = pdf.epw
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(width, 8, clean(PLAN_TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for kind, content in PLAN:
        if kind == "h2":
            pdf.ln(3)
            pdf.set_font(family, "B", 12.5)
            pdf.multi_cell(width, 7, clean(content), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "p":
            pdf.set_font(family, "", 10.5)
            pdf.multi_cell(width, 5.5, clean(content), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind in ("ul", "ol"):
            pdf.set_font(family, "", 10.5)
            for n, item in enumerate(content, 1):
                marker = f"{n}." if kind == "ol" else "•" if family == "DejaVu" else "-"
                pdf.set_x(pdf.l_margin + 2)
                pdf.cell(7, 5.5, marker)
                pdf.multi_cell(width - 9, 5.5, clean(item), align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            pdf.ln(1)
        else:
            raise ValueError(kind)
    pdf.output(str(path))


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    docx_path = OUT_DIR / "samarbeidsavtale_nord.docx"
    pdf_path = OUT_DIR / "tiltaksplan_sor.pdf"
    build_docx(docx_path)
    build_pdf(pdf_path)
    print(f"wrote {docx_path.relative_to(ROOT)}")
    print(f"wrote {pdf_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

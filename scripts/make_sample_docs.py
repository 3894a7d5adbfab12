"""Write sample_docs/: three small documents with made-up facts for the README's example questions.

Every fact is invented, so a right answer can only come from these files, never from a model's
memory. Each answer sits in one sentence on a known page; the script checks that with pypdf.

    python scripts/make_sample_docs.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

# (question, answer text as it appears in the document, file, page). page is None for files without
# pages; file is None for a question the documents cannot answer (the app should abstain).
EXAMPLE_QUESTIONS: list[tuple[str, str | None, str | None, int | None]] = [
    (
        "What maximum depth did the Aurora Lake Field Station record for the lake?",
        "47 metres",
        "aurora_lake_field_station_2023.pdf",
        2,
    ),
    (
        "Who is the director of the Aurora Lake Field Station?",
        "Dr. Ingrid Valtonen",
        "aurora_lake_field_station_2023.pdf",
        3,
    ),
    ("When was the Aurora Lake Field Station founded?", "1987", "aurora_lake_field_station_2023.pdf", 1),
    ("How large are the burrs in the Kestrel K2 grinder?", "64 mm", "kestrel_k2_handbook.md", None),
    ("How long is the Kestrel K2 warranty?", "3 years", "kestrel_k2_handbook.md", None),
    (
        "What launch date did the Project Heron steering group decide on?",
        "17 June 2024",
        "heron_steering_meeting_2024-03-14.txt",
        None,
    ),
    ("What is the population of the town of Aurora?", None, None, None),
]

PDF_NAME = "aurora_lake_field_station_2023.pdf"
MD_NAME = "kestrel_k2_handbook.md"
TXT_NAME = "heron_steering_meeting_2024-03-14.txt"

REPORT_PAGES: list[tuple[str, list[str]]] = [
    (
        "Aurora Lake Field Station: Annual Report 2023",
        [
            "The Aurora Lake Field Station was founded in 1987 on the north shore of Aurora Lake, a glacial "
            "lake in the fictional Varn Highlands. It studies how a cold, clear lake responds to warmer summers "
            "and shorter ice seasons.",
            "In 2023 the station ran its field season from 2 May to 27 October. Fourteen staff and nine visiting "
            "students took part, and the station logged 1,312 hours of boat time on the lake.",
            "This report summarises the year: the bathymetry survey and water quality results are on page 2, "
            "and staff, governance and the budget on page 3.",
        ],
    ),
    (
        "Bathymetry and water quality",
        [
            "The 2023 sonar survey mapped the whole basin for the first time. The station recorded the lake's "
            "maximum depth as 47 metres, in the trench below Gull Point. The mean depth of the lake is 18 metres.",
            "Surface water temperature peaked at 21.4 degrees Celsius on 9 August, the warmest reading since the "
            "station's records began. Ice-out came on 3 May, eleven days earlier than the long-term average.",
            "Water clarity stayed high: the mean Secchi depth over the season was 8.6 metres. Dissolved oxygen "
            "near the bottom fell to 4.1 milligrams per litre in late September.",
        ],
    ),
    (
        "Staff, governance and budget",
        [
            "The station director is Dr. Ingrid Valtonen, who has led the station since 2016. The deputy "
            "director and head of field operations is Marcus Obi.",
            "The station's operating budget for 2023 was 1.26 million euros, of which 40 percent came from the "
            "Varn Highlands Water Authority.",
            "The advisory board meets twice a year. The next annual report is due on 31 March 2024.",
        ],
    ),
]

HANDBOOK_MD = """\
# Kestrel K2 Espresso Grinder: Owner's Handbook

The Kestrel K2 is a single-dose electric grinder for espresso and filter coffee.
This handbook covers setup, grinding, cleaning and the warranty.

## Specifications

- Burrs: 64 mm flat burrs made of hardened steel.
- Motor: 250 W, running at 1,400 rpm.
- Grind settings: 60 marked positions, from espresso (1) to French press (60).
- Weight: 5.8 kg.

## Setting up

Place the grinder on a dry, level surface, away from the espresso machine's steam wand.
Fit the single-dose hopper and turn the dial to position 12, a good starting point for espresso.

## Cleaning

Brush the burr chamber every two weeks. Never wash the burrs with water.
Replace the burrs after about 500 kg of coffee.

## Warranty

The Kestrel K2 warranty lasts 3 years and covers the motor and electronics.
Keep your receipt: a claim needs proof of purchase.
"""

MEETING_TXT = """\
Project Heron - steering group meeting
Date: 14 March 2024
Present: Lena Marsh (chair), Tomas Reyes, Priya Anand, Jonah Clarke

1. Launch date
The pilot with the two regional warehouses slipped by three weeks.
Decision: the steering group decided to move the Project Heron launch date to 17 June 2024.

2. Budget
The group approved an extra 38,000 euros for load testing.

3. Actions
- Tomas Reyes to update the rollout plan by 22 March.
- Priya Anand to brief the warehouse managers.
Next meeting: 11 April 2024.
"""


def write_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story: list = []
    for i, (heading, paragraphs) in enumerate(REPORT_PAGES):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(heading, styles["Title" if i == 0 else "Heading1"]))
        for text in paragraphs:
            story.append(Paragraph(text, styles["BodyText"]))
            story.append(Spacer(1, 8))
    # invariant: no timestamp or random ID in the file, so rerunning leaves it byte-identical.
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title="Aurora Lake Field Station: Annual Report 2023",
        author="Aurora Lake Field Station",
        invariant=True,
    )
    doc.build(story)


def check(out: Path) -> None:
    """Each answer must be findable, as text, on the page the question says."""
    import pypdf

    for question, answer, name, page in EXAMPLE_QUESTIONS:
        if answer is None or name is None:
            continue
        if page is None:
            text = (out / name).read_text(encoding="utf-8")
        else:
            text = pypdf.PdfReader(out / name).pages[page - 1].extract_text()
        if answer not in " ".join(text.split()):
            raise SystemExit(f"{name} p.{page}: answer {answer!r} to {question!r} not found")


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "sample_docs"
    out.mkdir(parents=True, exist_ok=True)
    write_pdf(out / PDF_NAME)
    (out / MD_NAME).write_text(HANDBOOK_MD, encoding="utf-8")
    (out / TXT_NAME).write_text(MEETING_TXT, encoding="utf-8")
    check(out)
    print(f"wrote {out}/: {PDF_NAME}, {MD_NAME}, {TXT_NAME}\n\nExample questions:")
    for question, answer, name, page in EXAMPLE_QUESTIONS:
        where = (
            "not in the documents (expect an abstention)"
            if name is None
            else name + (f", p. {page}" if page else "")
        )
        print(f"- {question}\n    -> {answer or 'n/a'}  [{where}]")


if __name__ == "__main__":
    main(sys.argv)

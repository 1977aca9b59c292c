"""Generate the sample CVs of corpus/cvs (fictional people) as TXT, PDF (reportlab) and DOCX (python-docx)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "cvs"

CVS = {
    "cv-coordinatrice-ong": """Camille Durand
Coordinatrice de projets humanitaires
Paris (75) - camille.durand@example.org - 06 39 98 00 11
Mobilité : Île-de-France. Recherche un CDI.

EXPÉRIENCE
2017-2025 Coordinatrice générale, association de solidarité internationale, Saint-Denis
- Pilotage de programmes d'accès aux soins, gestion budgétaire et RH d'une équipe de 25 salariés
- Plaidoyer auprès des institutions, représentation de l'association, reporting bailleurs
2013-2017 Chargée de projets santé, ONG médicale, Paris

FORMATION
Master 2 Gestion de projets de solidarité internationale

LANGUES
Français : langue maternelle
Anglais : courant (C1)
Espagnol : intermédiaire

PERMIS
Permis B
""",
    "cv-mediateur-sante": """Andrei Lacatus
Médiateur en santé - pair aidant
Montreuil (93) - andrei.l@example.org - 06 39 98 00 22
Mobilité : toute la France. Ouvert à un stage ou un CDD.

EXPÉRIENCE
2021-2025 Médiateur en santé, programme de réduction des risques, Montreuil
- Accompagnement vers le soin des personnes en squats et bidonvilles, maraudes, orientation
- Animation d'ateliers de prévention, travail en binôme avec infirmiers et travailleurs sociaux
2019-2021 Bénévole, accueil de jour, Paris

FORMATION
Licence 3 Sciences sanitaires et sociales (en cours)

LANGUES
Roumain : langue maternelle
Romani : courant
Français : C1
Anglais : notions

PERMIS
Permis B : en cours
""",
    "cv-travailleuse-sociale": """Sophie Martin
Assistante de service social (DEASS)
Nantes (44) - sophie.martin@example.org - 06 39 98 00 33
Mobilité : département. Contrat recherché : CDI ou CDD.

EXPÉRIENCE
2015-2025 Assistante sociale, centre d'accueil pour demandeurs d'asile, Nantes
- Accompagnement social global, accès aux droits, ouverture de droits santé (PUMa, AME)
- Travail en réseau avec les partenaires médico-sociaux, interventions en milieu carcéral
2012-2015 Travailleuse sociale, CHRS, Saint-Nazaire

FORMATION
Diplôme d'État d'assistant de service social

LANGUES
Français : langue maternelle
Anglais : scolaire

PERMIS
Permis B
""",
}


def write_txt(name: str, text: str) -> None:
    (HERE / f"{name}.txt").write_text(text, encoding="utf-8")


def write_pdf(name: str, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    c = canvas.Canvas(str(HERE / f"{name}.pdf"), pagesize=A4, invariant=1)  # invariant: reproducible bytes
    y = A4[1] - 60
    for line in text.splitlines():
        c.setFont("Helvetica-Bold" if line.isupper() else "Helvetica", 11)
        c.drawString(50, y, line)
        y -= 16
    c.save()


def write_docx(name: str, text: str) -> None:
    import docx
    d = docx.Document()
    for line in text.splitlines():
        d.add_paragraph(line)
    d.save(str(HERE / f"{name}.docx"))


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    write_txt("cv-coordinatrice-ong", CVS["cv-coordinatrice-ong"])
    write_pdf("cv-mediateur-sante", CVS["cv-mediateur-sante"])
    write_docx("cv-travailleuse-sociale", CVS["cv-travailleuse-sociale"])

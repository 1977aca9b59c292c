"""Write the mini_fr CVs (cvs/*.txt, cvs/*.pdf with reportlab) and cvs.jsonl; every person is fictional.

Run from anywhere: python eval/mini_fr/make_cvs.py. Output is byte-for-byte reproducible (reportlab's
invariant mode). Needs reportlab (a dev dependency)."""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Coordinates of town centres, used for radius mobility.
PLACES = {
    "Montreuil": {"city": "Montreuil", "department": "93", "region": "Île-de-France", "lat": 48.8638, "lon": 2.4485},
    "Marseille": {"city": "Marseille", "department": "13", "region": "Provence-Alpes-Côte d'Azur",
                  "lat": 43.2965, "lon": 5.3698},
    "Lyon": {"city": "Lyon", "department": "69", "region": "Auvergne-Rhône-Alpes", "lat": 45.7640, "lon": 4.8357},
    "Paris": {"city": "Paris", "department": "75", "region": "Île-de-France", "lat": 48.8566, "lon": 2.3522},
    "Toulouse": {"city": "Toulouse", "department": "31", "region": "Occitanie", "lat": 43.6047, "lon": 1.4442},
    "Montpellier": {"city": "Montpellier", "department": "34", "region": "Occitanie", "lat": 43.6108, "lon": 3.8767},
    "Bobigny": {"city": "Bobigny", "department": "93", "region": "Île-de-France", "lat": 48.9077, "lon": 2.4397},
    "Roubaix": {"city": "Roubaix", "department": "59", "region": "Hauts-de-France", "lat": 50.6942, "lon": 3.1746},
}

# Each CV: id, format, truth (CONTRACT.md), notes, and the text as sections (heading, lines).
CVS = [
    {"id": "mini-cv01", "format": "txt", "name": "Daniela Munteanu",
     "truth": {"location": PLACES["Montreuil"], "mobility": "region", "contracts_wanted": [], "licences": [],
               "languages": [{"lang": "fr", "level": "C1"}, {"lang": "ro", "level": "C2"},
                             {"lang": "rom", "level": "B2"}],
               "occupation": "Médiatrice en santé", "years_experience": 4},
     "notes": "Mobility: 'Île-de-France' = region. No licence mentioned (silence = not held). Declares French C1; "
              "the CV's writing language still counts as fluent for filters.",
     "text": """DANIELA MUNTEANU
Médiatrice en santé
12 rue des Lilas fictive, 93100 Montreuil
Tél. 06 39 98 11 01 - daniela.munteanu@example.org

PROFIL
Médiatrice en santé depuis 4 ans auprès de familles vivant en squats et bidonvilles.
J'accompagne les personnes vers l'ouverture de droits (AME, PUMa) et vers les soins.
Mobilité : toute l'Île-de-France.

EXPÉRIENCE
2021 - aujourd'hui  Médiatrice en santé, association d'accès aux soins, Montreuil
  - Maraudes et permanences sur les lieux de vie, orientation vers les PASS et la PMI
  - Accompagnement physique aux rendez-vous médicaux, interprétariat roumain / français
  - Animation d'ateliers de prévention (vaccination, santé des femmes)
2019 - 2021  Agente d'accueil bilingue, centre social, Saint-Ouen

FORMATION
2021  Diplôme universitaire de médiation en santé
2018  Licence de sociologie (Bucarest), équivalence

LANGUES
Roumain : langue maternelle
Romani : bon niveau (B2)
Français : courant (C1)
"""},
    {"id": "mini-cv02", "format": "pdf", "layout": "one_col", "name": "Karim Benali",
     "truth": {"location": PLACES["Marseille"], "mobility": "department", "contracts_wanted": ["CDI"],
               "licences": ["B"],
               "languages": [{"lang": "fr", "level": "C2"}, {"lang": "ar", "level": "C1"},
                             {"lang": "en", "level": "A2"}],
               "occupation": "Assistant de service social", "years_experience": 8},
     "notes": "Mobility 'Bouches-du-Rhône uniquement' = department; looks for a CDI only.",
     "sections": [
         ("", ["Karim Benali", "Assistant de service social diplômé d'État (DEASS)",
               "8 bd des Platanes fictif, 13005 Marseille - 06 39 98 11 02 - karim.benali@example.org"]),
         ("Profil", ["Huit ans d'accompagnement social global de familles et de personnes isolées.",
                     "Recherche un CDI dans les Bouches-du-Rhône uniquement."]),
         ("Expérience", ["2017 - aujourd'hui : Assistant de service social, centre communal d'action sociale, "
                         "Marseille",
                         "Évaluations sociales, accès aux droits, dossiers FSL et DALO, visites à domicile.",
                         "2016 - 2017 : Assistant de service social (remplacement), hôpital, Aubagne",
                         "Préparation des sorties d'hospitalisation, liens avec les SSIAD."]),
         ("Formation", ["2016 : Diplôme d'État d'assistant de service social, Marseille"]),
         ("Compétences", ["Entretien d'aide, travail en réseau, protection de l'enfance, logiciels de suivi social"]),
         ("Langues et permis", ["Arabe : courant - Anglais : scolaire", "Permis B, véhicule personnel"]),
     ]},
    {"id": "mini-cv03", "format": "pdf", "layout": "two_col", "name": "Claire Le Goff",
     "truth": {"location": PLACES["Lyon"], "mobility": "region", "contracts_wanted": [], "licences": [],
               "languages": [{"lang": "fr", "level": "C2"}, {"lang": "en", "level": "B1"}],
               "occupation": "Infirmière", "years_experience": 6},
     "notes": "'Permis B : en cours' = not held. Silent on mobility and contract: own region, any contract.",
     "sidebar": ["Contact", "7 place des Tilleuls fictive", "69007 Lyon", "06 39 98 11 03", "claire.legoff@example.org",
                 "", "Langues", "Anglais : intermédiaire", "", "Permis", "Permis B : en cours"],
     "sections": [
         ("", ["Claire Le Goff", "Infirmière diplômée d'État"]),
         ("Expérience", ["2021 - aujourd'hui : Infirmière, centre de santé associatif, Lyon 8e",
                         "Consultations infirmières, éducation thérapeutique, suivi des patients diabétiques.",
                         "2019 - 2021 : Infirmière en médecine interne, hôpital, Villeurbanne",
                         "Soins techniques, coordination avec les assistantes sociales."]),
         ("Formation", ["2019 : Diplôme d'État d'infirmier, IFSI de Lyon"]),
         ("Compétences", ["Soins infirmiers, prévention, dépistage, accueil de publics précaires,",
                          "travail en équipe pluridisciplinaire"]),
     ]},
    {"id": "mini-cv04", "format": "txt", "name": "Thomas Moreau",
     "truth": {"location": PLACES["Paris"], "mobility": "france", "contracts_wanted": ["Stage"], "licences": [],
               "languages": [{"lang": "fr", "level": "C2"}, {"lang": "en", "level": "C1"},
                             {"lang": "es", "level": "B1"}],
               "occupation": "Stagiaire chargé de mission accès aux droits et plaidoyer", "years_experience": 0},
     "notes": "Student looking for a 6-month internship only; mobile in all of France; 'Permis : non'.",
     "text": """THOMAS MOREAU
Étudiant en master 2 Droits de l'homme et action humanitaire
Paris 11e - 06 39 98 11 04 - thomas.moreau@example.org

RECHERCHE
Stage de fin d'études de 6 mois à partir de janvier, en accès aux droits ou plaidoyer.
Mobile dans toute la France.

FORMATION
2024 - 2025  Master 2 Droits de l'homme et action humanitaire, université (Paris)
2023  Licence de droit public

EXPÉRIENCES
2024  Stage de 3 mois, permanence juridique d'une association d'aide aux étrangers
      Accueil, constitution de dossiers de titre de séjour, veille juridique
2022 - 2024  Bénévole, maraudes et distribution alimentaire

LANGUES
Anglais : courant (C1)
Espagnol : intermédiaire (B1)

DIVERS
Permis : non
"""},
    {"id": "mini-cv05", "format": "pdf", "layout": "table", "name": "Sophie Garnier",
     "truth": {"location": PLACES["Toulouse"], "mobility": "list:[31,82]", "contracts_wanted": ["CDI", "CDD"],
               "licences": ["B"], "languages": [{"lang": "fr", "level": "C2"}],
               "occupation": "Aide-soignante", "years_experience": 10},
     "notes": "Mobility: Haute-Garonne and Tarn-et-Garonne (list). CDI or CDD.",
     "rows": [
         ("Nom", "Sophie Garnier"),
         ("Poste recherché", "Aide-soignante (domicile ou établissement)"),
         ("Adresse", "3 allée des Cèdres fictive, 31200 Toulouse"),
         ("Contact", "06 39 98 11 05 - sophie.garnier@example.org"),
         ("Mobilité", "Haute-Garonne et Tarn-et-Garonne"),
         ("Contrat", "CDI ou CDD"),
         ("Expérience", "2018 - aujourd'hui : aide-soignante en SSIAD, Toulouse. Toilettes, prévention des escarres, "
                        "transmissions.\n2015 - 2018 : aide-soignante en EHPAD, Montauban."),
         ("Diplôme", "2015 : Diplôme d'État d'aide-soignant (DEAS)"),
         ("Permis", "Permis B et véhicule personnel"),
     ]},
    {"id": "mini-cv06", "format": "txt", "name": "Élodie Vasseur",
     "truth": {"location": PLACES["Montpellier"], "mobility": "radius_km:40", "contracts_wanted": [],
               "licences": ["B"], "languages": [{"lang": "fr", "level": "C2"}, {"lang": "en", "level": "A2"}],
               "occupation": "Secrétaire médicale", "years_experience": 7},
     "notes": "Radius 40 km around Montpellier: Sète (~27 km) inside, Nîmes (~46 km) outside.",
     "text": """Élodie Vasseur
Secrétaire médicale et administrative
Montpellier (34) - 06 39 98 11 06 - elodie.vasseur@example.org

Sept ans de secrétariat en cabinet médical puis en structure médico-sociale.
Je cherche un poste dans un rayon de 40 km autour de Montpellier.

Expérience
- 2020 - aujourd'hui : secrétaire médico-sociale, service de soins infirmiers à domicile, Montpellier.
  Accueil physique et téléphonique, prise de rendez-vous, dossiers patients, facturation.
- 2017 - 2020 : secrétaire médicale, cabinet de groupe, Lunel.

Formation
- 2017 : titre professionnel secrétaire assistante médico-sociale

Compétences : Word, Excel, logiciels de gestion des dossiers patients, bases de comptabilité.
Langues : anglais notions.
Permis B.
"""},
    {"id": "mini-cv07", "format": "txt", "name": "Amina Diallo",
     "truth": {"location": PLACES["Bobigny"], "mobility": "region", "contracts_wanted": [], "licences": ["B"],
               "languages": [{"lang": "fr", "level": "C2"}, {"lang": "en", "level": "B2"},
                             {"lang": "wo", "level": "C2"}],
               "occupation": "Conseillère en insertion professionnelle", "years_experience": 5},
     "notes": "Mobility 'Île-de-France' = region. English B2: below the C1 that mini-p03 requires.",
     "text": """AMINA DIALLO
Conseillère en insertion professionnelle (CIP)
Bobigny (93) - 06 39 98 11 07 - amina.diallo@example.org
Mobilité : Île-de-France. Permis B.

EXPÉRIENCE PROFESSIONNELLE
2020 - aujourd'hui  Conseillère en insertion professionnelle, chantier d'insertion, Bobigny
  Accompagnement de 40 salariés en parcours, diagnostic socioprofessionnel,
  recherche d'entreprises partenaires, suivi des formations.
2018 - 2020  Chargée d'accueil, maison de l'emploi, Pantin

FORMATION
2018  Titre professionnel conseiller en insertion professionnelle
2016  BTS économie sociale et familiale

LANGUES
Wolof : langue maternelle - Anglais : B2
"""},
    {"id": "mini-cv08", "format": "txt", "name": "Julien Marchand",
     "truth": {"location": PLACES["Roubaix"], "mobility": "department", "contracts_wanted": ["CDI"],
               "licences": ["B"], "languages": [{"lang": "fr", "level": "C2"}, {"lang": "en", "level": "A2"}],
               "occupation": "Éducateur spécialisé", "years_experience": 7},
     "notes": "'Uniquement dans le Nord' = department; 'CDI uniquement'.",
     "text": """Julien Marchand
Éducateur spécialisé (DEES)
Roubaix - 06 39 98 11 08 - julien.marchand@example.org

Recherche : CDI uniquement, dans le Nord.

Parcours
2018 - aujourd'hui : éducateur spécialisé en foyer d'hébergement pour adultes, Tourcoing.
  Projets personnalisés, accompagnement vers l'autonomie, travail avec les familles.
2016 - 2018 : moniteur-éducateur en institut médico-éducatif, Lille.

Diplômes : DEES (2018), DEME (2016).
Langues : anglais scolaire.
Permis B.
"""},
]


def _pdf_one_col(cv: dict, path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story = []
    for heading, lines in cv["sections"]:
        if heading:
            story += [Spacer(1, 8), Paragraph(heading, styles["Heading2"])]
        for i, line in enumerate(lines):
            style = styles["Title"] if not heading and i == 0 else styles["Normal"]
            story.append(Paragraph(line, style))
    SimpleDocTemplate(str(path), pagesize=A4, title=f"CV {cv['name']}", invariant=1).build(story)


def _pdf_two_col(cv: dict, path: Path) -> None:
    from reportlab.lib.colors import HexColor, white
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle(f"CV {cv['name']}")
    width, height = A4
    c.setFillColor(HexColor("#2f5d62"))
    c.rect(0, 0, 170, height, stroke=0, fill=1)
    c.setFillColor(white)
    y = height - 60
    for line in cv["sidebar"]:   # the sidebar is drawn first, so text extraction meets it first
        c.setFont("Helvetica-Bold" if line in ("Contact", "Langues", "Permis") else "Helvetica", 9)
        c.drawString(15, y, line)
        y -= 14
    c.setFillColor(HexColor("#000000"))
    y = height - 60
    for heading, lines in cv["sections"]:
        if heading:
            y -= 10
            c.setFont("Helvetica-Bold", 12)
            c.drawString(190, y, heading)
            y -= 16
        for i, line in enumerate(lines):
            name_line = not heading and i == 0
            c.setFont("Helvetica-Bold" if name_line else "Helvetica", 16 if name_line else 9.5)
            c.drawString(190, y, line)
            y -= 20 if name_line else 13
    c.showPage()
    c.save()


def _pdf_table(cv: dict, path: Path) -> None:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    styles = getSampleStyleSheet()
    data = [[Paragraph(f"<b>{k}</b>", styles["Normal"]), Paragraph(v.replace("\n", "<br/>"), styles["Normal"])]
            for k, v in cv["rows"]]
    table = Table(data, colWidths=[110, 360])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, HexColor("#999999")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (0, -1), HexColor("#eeeeee"))]))
    SimpleDocTemplate(str(path), pagesize=A4, title=f"CV {cv['name']}", invariant=1).build([table])


def main() -> None:
    out = HERE / "cvs"
    out.mkdir(exist_ok=True)
    records = []
    for cv in CVS:
        path = out / f"{cv['id']}.{cv['format']}"
        if cv["format"] == "txt":
            path.write_text(cv["text"], encoding="utf-8")
        else:
            {"one_col": _pdf_one_col, "two_col": _pdf_two_col, "table": _pdf_table}[cv["layout"]](cv, path)
        records.append({"id": cv["id"], "file": f"cvs/{path.name}", "truth": cv["truth"], "notes": cv["notes"],
                        "meta": {"format": cv["format"], "layout": cv.get("layout", "plain"), "name": cv["name"],
                                 "fictional": True}})
    with (HERE / "cvs.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

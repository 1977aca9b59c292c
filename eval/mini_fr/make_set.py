"""Write the mini_fr postings.jsonl, qrels.tsv and rationales.tsv from the judgments below.

Run after make_cvs.py: python eval/mini_fr/make_set.py. Grades = occupational fit (0-3, written by hand
below with a reason), set to 0 when a hard filter fails (CONTRACT.md semantics, applied mechanically
by matcher.evaluate.truth_failures). Every CV x posting pair is written to qrels.tsv."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))   # the repository, for matcher.evaluate

from matcher.evaluate import truth_failures  # noqa: E402

REGIONS = {"93": "Île-de-France", "94": "Île-de-France", "75": "Île-de-France", "13": "Provence-Alpes-Côte d'Azur",
           "69": "Auvergne-Rhône-Alpes", "35": "Bretagne", "59": "Hauts-de-France", "31": "Occitanie",
           "34": "Occitanie", "30": "Occitanie"}


TOWNS = {  # department, lat, lon of the town centre
    "Montreuil": ("93", 48.8638, 2.4485),
    "Marseille": ("13", 43.2965, 5.3698),
    "Paris": ("75", 48.8566, 2.3522),
    "Lyon": ("69", 45.7640, 4.8357),
    "Sète": ("34", 43.4028, 3.6967),
    "Lille": ("59", 50.6292, 3.0573),
    "Toulouse": ("31", 43.6047, 1.4442),
    "Montpellier": ("34", 43.6108, 3.8767),
    "Saint-Denis": ("93", 48.9362, 2.3574),
    "Villeurbanne": ("69", 45.7719, 4.8902),
    "Rennes": ("35", 48.1173, -1.6778),
    "Créteil": ("94", 48.7904, 2.4556),
    "Nîmes": ("30", 43.8367, 4.3601),
}


def at(city: str) -> dict:
    """The truth `location` of a town in TOWNS."""
    department, lat, lon = TOWNS[city]
    return {"city": city, "department": department, "region": REGIONS[department], "lat": lat, "lon": lon}


def posting(pid: str, title: str, where: dict, contract: str, body: str, *, lic_req: Sequence[str] = (),
            lic_des: Sequence[str] = (), lang_req: Sequence[dict] = (), lang_des: Sequence[dict] = (),
            remote: str = "none", role: str = "target", family: str = "", notes: str = "") -> dict:
    """One posting record in the contract's schema; `text` is a header (title, place, contract) + the ad."""
    header = f"{title}\nLieu de travail : {where['city']} ({where['department']})\nType de contrat : {contract}\n\n"
    return {"id": pid, "title": title, "text": header + body.strip() + "\n", "source": "mini",
            "truth": {"location": where, "contract": contract, "licences_required": list(lic_req),
                      "licences_desired": list(lic_des), "languages_required": list(lang_req),
                      "languages_desired": list(lang_des), "remote": remote},
            "meta": {"role": role, "family": family, "truth_notes": notes}}


POSTINGS = [
    posting("mini-p01", "Médiateur·rice en santé (H/F)", at("Montreuil"), "CDD", """
Le Collectif Santé Partagée, association fictive d'accès aux soins, recrute pour 12 mois un·e médiateur·rice
en santé. Vous intervenez auprès des familles roms vivant en squats et bidonvilles de l'est parisien :
maraudes, orientation vers les structures de soins, accompagnement à l'ouverture des droits, ateliers de
prévention.
Profil : expérience de la médiation ou de l'intervention sociale auprès de publics précaires.
La maîtrise du roumain ou du romani est un plus. Permis B souhaité.
""", lic_des=["B"], lang_des=[{"lang": "ro"}, {"lang": "rom"}], family="MED",
            notes="'familles roms' names a people, not a language; ro and rom are desired ('est un plus')."),
    posting("mini-p02", "Assistant·e de service social (H/F)", at("Marseille"), "CDI", """
Une association fictive d'hébergement et de réinsertion sociale recherche un·e assistant·e de service social
pour son service d'accompagnement de familles. Missions : évaluation sociale, accès aux droits, visites à
domicile, travail en réseau avec les partenaires du territoire.
Diplôme d'État d'assistant de service social exigé. Permis B obligatoire (visites à domicile).
""", lic_req=["B"], family="ASS", notes="'Permis B obligatoire' = required."),
    posting("mini-p03", "Coordinateur·rice de projets en santé communautaire (H/F)", at("Paris"),
            "CDI", """
Au siège d'une ONG fictive de solidarité, vous coordonnez trois projets de santé communautaire : suivi
budgétaire, rapports aux bailleurs, encadrement de deux chargées de projet, représentation auprès des
partenaires. Expérience de coordination de 5 ans minimum.
Anglais courant exigé (rapports et échanges avec les bailleurs internationaux). Télétravail un jour par semaine.
""", lang_req=[{"lang": "en", "level": "C1"}], remote="partial", family="COORD",
            notes="'Anglais courant exigé' = en C1 required. 'Télétravail un jour' = partial."),
    posting("mini-p04", "Infirmier·ère en équipe mobile précarité (H/F)", at("Lyon"), "CDD", """
CDD de 6 mois dans une équipe mobile fictive qui va à la rencontre des personnes sans domicile : soins
infirmiers de rue, dépistages, orientation vers les dispositifs de droit commun.
Diplôme d'État d'infirmier requis. Permis B obligatoire : les tournées se font en véhicule de service.
""", lic_req=["B"], family="IDE", notes="Licence required ('obligatoire')."),
    posting("mini-p05", "Assistant·e administratif·ve et comptable (H/F)", at("Sète"), "CDI", """
Une association fictive d'aide à domicile recherche un·e assistant·e administratif·ve : accueil téléphonique,
saisie comptable, facturation des prestations, suivi des dossiers du personnel.
Maîtrise d'Excel. Télétravail possible deux jours par semaine.
""", remote="partial", family="ADM", notes="No licence or language requirement."),
    posting("mini-p06", "Stage - Chargé·e de mission accès aux droits et plaidoyer (6 mois)",
            at("Paris"), "Stage", """
Stage de 6 mois à partir de janvier dans une association fictive de défense des droits des personnes
exilées : veille juridique, rédaction de notes de plaidoyer, appui aux permanences d'accès aux droits.
Profil : master 2 en droit, sciences politiques ou action humanitaire. Convention de stage obligatoire.
Anglais lu apprécié. Permis non requis.
""", lang_des=[{"lang": "en"}], remote="unknown", family="PLAID",
            notes="'Convention de stage obligatoire' is not a licence. 'Anglais lu apprécié' = desired. "
                  "'Permis non requis' = no licence. Office work, silent on remote: unknown."),
    posting("mini-p07", "Éducateur·rice spécialisé·e en foyer d'hébergement (H/F)", at("Lille"),
            "CDI", """
Foyer fictif accueillant 30 adultes en situation de handicap psychique. Vous élaborez et suivez les projets
personnalisés, accompagnez les résidents vers l'autonomie et travaillez avec les familles.
DEES exigé. Permis B souhaité.
""", lic_des=["B"], family="ES", notes="'Permis B souhaité' = desired."),
    posting("mini-p08", "Aide-soignant·e à domicile - SSIAD (H/F)", at("Toulouse"), "CDD", """
CDD de 3 mois dans un service de soins infirmiers à domicile fictif : soins d'hygiène et de confort,
prévention, transmissions à l'infirmière coordinatrice.
DEAS exigé. Permis B indispensable et véhicule personnel (indemnités kilométriques).
""", lic_req=["B"], family="AS", notes="'Permis B indispensable' = required."),
    posting("mini-p09", "Secrétaire médico-social·e (H/F)", at("Montpellier"), "CDD", """
Remplacement de 6 mois dans un centre médico-social fictif : accueil, gestion des rendez-vous, tenue des
dossiers, courriers. Expérience en secrétariat médical appréciée.
""", remote="unknown", family="SEC", notes="Office job, silent on remote: unknown."),
    posting("mini-p10", "Conseiller·ère en insertion professionnelle (H/F)", at("Saint-Denis"),
            "CDI", """
Un atelier-chantier d'insertion fictif recrute un·e CIP pour accompagner 35 salariés en parcours : diagnostic,
levée des freins, relations avec les entreprises, suivi des formations.
Titre professionnel CIP ou expérience équivalente. Permis B apprécié.
""", lic_des=["B"], family="CIP", notes="'Permis B apprécié' = desired."),
    posting("mini-p11", "Cuisinier·ère en restauration collective (H/F)", at("Villeurbanne"),
            "CDI", """
Cuisine centrale fictive (800 repas par jour) : production des plats, respect des règles HACCP,
gestion des stocks. CAP cuisine et trois ans d'expérience.
""", role="distractor", family="CUIS", notes="Distractor."),
    posting("mini-p12", "Maçon·ne en rénovation (H/F)", at("Rennes"), "Intérim", """
Mission d'intérim de 4 mois : rénovation de logements anciens, maçonnerie traditionnelle, enduits à la chaux.
Permis B exigé pour se rendre sur les chantiers.
""", lic_req=["B"], role="distractor", family="BTP", notes="Distractor; 'Permis B exigé' = required."),
    posting("mini-p13", "Animateur·rice socioculturel·le (H/F)", at("Marseille"), "CDD", """
Centre social fictif des quartiers nord : CDD de 10 mois pour animer les activités du secteur jeunes et les
sorties familles. BPJEPS ou BAFA avec expérience. Permis B souhaité.
""", lic_des=["B"], family="ANIM", notes="'Permis B souhaité' = desired."),
    posting("mini-p14", "Chargé·e d'accueil des personnes exilées (H/F)", at("Créteil"), "CDD", """
CDD de 12 mois dans une plateforme fictive d'accueil des demandeurs d'asile : premier accueil, orientation,
aide aux démarches, animation de la salle d'attente.
Français courant indispensable. Arabe, dari ou pachto apprécié.
""", lang_req=[{"lang": "fr", "level": "C1"}], lang_des=[{"lang": "ar"}, {"lang": "prs"}, {"lang": "ps"}],
            family="ACC", notes="'Français courant indispensable' = fr C1 required; ar, prs (Dari), ps desired."),
    posting("mini-p15", "Infirmier·ère en centre de santé associatif (H/F)", at("Villeurbanne"),
            "CDI", """
Centre de santé associatif fictif : consultations infirmières, éducation thérapeutique, actions de prévention
auprès de publics précaires, travail avec les médecins et la médiatrice du centre. DE infirmier requis.
""", family="IDE", notes="No licence requirement."),
    posting("mini-p16", "Secrétaire d'accueil en centre d'hébergement (H/F)", at("Nîmes"), "CDD", """
Centre d'hébergement fictif : accueil physique et téléphonique, tenue du registre, prise de rendez-vous pour
les travailleurs sociaux, courriers. Expérience du secrétariat souhaitée.
""", family="SEC", notes="Nîmes lies about 46 km from Montpellier."),
]

# Occupational fit by hand, before hard filters: (cv_id, posting_id) -> (fit, reason). Absent = 0.
FIT = {
    ("mini-cv01", "mini-p01"): (3, "health mediator with Roma families, Romanian and Romani speaker"),
    ("mini-cv01", "mini-p14"): (2, "mediation and reception of precarious migrants: closely related"),
    ("mini-cv01", "mini-p10"): (1, "social support background, adjacent to job-insertion counselling"),
    ("mini-cv01", "mini-p03"): (1, "community health experience but no coordination: seniority mismatch"),
    ("mini-cv02", "mini-p02"): (3, "DEASS, 8 years of family social work"),
    ("mini-cv02", "mini-p14"): (2, "social worker with Arabic on a reception post for asylum seekers"),
    ("mini-cv02", "mini-p10"): (1, "social work, adjacent to job-insertion counselling"),
    ("mini-cv02", "mini-p07"): (1, "social work, adjacent to special education"),
    ("mini-cv02", "mini-p01"): (1, "social work with precarious families, adjacent to health mediation"),
    ("mini-cv03", "mini-p15"): (3, "nurse from an associative health centre"),
    ("mini-cv03", "mini-p04"): (3, "nurse used to precarious publics"),
    ("mini-cv03", "mini-p08"): (1, "nurse on a care-assistant post: diploma above the post"),
    ("mini-cv03", "mini-p01"): (1, "health and precarity, adjacent to mediation"),
    ("mini-cv03", "mini-p03"): (1, "health background but no coordination experience"),
    ("mini-cv04", "mini-p06"): (3, "M2 student in human rights seeking exactly this internship"),
    ("mini-cv04", "mini-p03"): (1, "junior on a senior coordination post"),
    ("mini-cv04", "mini-p14"): (1, "access-to-rights experience with migrants, adjacent"),
    ("mini-cv05", "mini-p08"): (3, "DEAS with 7 years in a SSIAD"),
    ("mini-cv06", "mini-p09"): (3, "medical secretary in a medico-social service"),
    ("mini-cv06", "mini-p16"): (3, "secretary with reception experience"),
    ("mini-cv06", "mini-p05"): (2, "administrative secretary with invoicing; accounting is lighter"),
    ("mini-cv06", "mini-p14"): (1, "reception skills, adjacent"),
    ("mini-cv07", "mini-p10"): (3, "CIP with 5 years in a chantier d'insertion"),
    ("mini-cv07", "mini-p14"): (2, "reception and support of people in precarity: closely related"),
    ("mini-cv07", "mini-p01"): (1, "social support, adjacent to health mediation"),
    ("mini-cv07", "mini-p03"): (1, "project experience too thin for coordination"),
    ("mini-cv08", "mini-p07"): (3, "DEES with 7 years in a foyer for adults"),
    ("mini-cv08", "mini-p13"): (1, "educator on an animation post: adjacent"),
    ("mini-cv08", "mini-p10"): (1, "educator, adjacent to job-insertion counselling"),
    ("mini-cv08", "mini-p14"): (1, "support work, adjacent to reception of exiles"),
}


def main() -> None:
    cvs = [json.loads(line) for line in (HERE / "cvs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    ids = {p["id"] for p in POSTINGS} | {c["id"] for c in cvs}
    unknown = {x for pair in FIT for x in pair} - ids
    if unknown:
        raise SystemExit(f"judgments name unknown ids: {sorted(unknown)}")
    with (HERE / "postings.jsonl").open("w", encoding="utf-8") as f:
        for p in POSTINGS:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    qrels, rationales = [], ["cv_id\tposting_id\tgrade\treason\n"]
    for cv in cvs:
        for p in POSTINGS:
            fit, reason = FIT.get((cv["id"], p["id"]), (0, ""))
            fails = truth_failures(cv["truth"], p["truth"], cv.get("lang", "fr"))
            grade = 0 if fails else fit
            qrels.append(f"{cv['id']}\t0\t{p['id']}\t{grade}\n")
            if fit and fails:
                rationales.append(f"{cv['id']}\t{p['id']}\t0\tHARD FILTER -> 0 ({', '.join(fails)}). "
                                  f"Occupational fit alone would be {fit}: {reason}\n")
            elif fit:
                rationales.append(f"{cv['id']}\t{p['id']}\t{grade}\t{reason}\n")
    (HERE / "qrels.tsv").write_text("".join(qrels), encoding="utf-8")
    (HERE / "rationales.tsv").write_text("".join(rationales), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Contract type and duration of postings; contracts a CV asks for."""
from __future__ import annotations

import pytest

from matcher.parse.extract.contract import contract_of_label, cv_contracts, duration_months, posting_contract


@pytest.mark.parametrize("text, title, contract, months", [
    ("Nous proposons un CDD de 6 mois à pourvoir dès que possible.", "Éducateur", "CDD", 6),
    ("Poste en CDI, temps plein.", "Comptable", "CDI", None),
    ("Stage de 6 mois à pourvoir dès mars.", "Stagiaire plaidoyer", "Stage", 6),
    ("Mission en intérim sur 3 semaines.", "Cariste", "Intérim", None),
    ("Emploi saisonnier pour l'été.", "Serveur", "Saisonnier", None),
    ("Formation en alternance, contrat d'apprentissage de 2 ans.", "Assistant RH", "Alternance", None),
    ("Mission de bénévolat auprès des familles.", "Bénévole accueil", "Bénévolat", None),
    ("Type de contrat : Contrat à durée déterminée - 6 Mois\n\nTexte.", "Aide-soignant", "CDD", 6),
    ("Type de contrat : CDD - 12 Mois\n\nTexte.", "Data analyst", "CDD", 12),
    ("Type de contrat : Contrat à durée indéterminée\n\nTexte.", "Infirmier", "CDI", None),
    ("Type de contrat : Mission intérimaire - 1 Mois\n\nTexte.", "Maçon", "Intérim", 1),
    ("Type de contrat : Contrat travail saisonnier - 4 Mois\n\nTexte.", "Hôte d'accueil", "Saisonnier", 4),
    ("Type de contrat : Contrat à durée déterminée - 12 Mois\n\nTexte.", "Apprenti boulanger", "Alternance", 12),
    ("Contrat d'engagement éducatif pour juillet et août.", "Directeur de séjour", "CDD", None),
    ("Contrat: Contrat à durée indéterminée\nTemps complet", "Coordinateur", "CDI", None),
    ("Contrat & statut :\n- CDD de 6 mois à pourvoir dès que possible", "Facilitateur", "CDD", 6),
    ("Ce poste de 3 ans ne précise rien.", "Agent", None, None),
])
def test_posting_contract(text: str, title: str, contract: str | None, months: float | None) -> None:
    got, got_months, span = posting_contract(text, title)
    assert got == contract
    assert got_months == months
    if span is not None:
        assert text[span.start:span.end] == span.text


@pytest.mark.parametrize("label, contract", [
    ("CDI", "CDI"), ("CDI intérimaire", "CDI"), ("CDD insertion", "CDD"), ("Profession libérale", "Freelance"),
    ("Franchise", "Autre"), ("Reprise d'entreprise", "Autre"), ("Intérim - 15 Jour(s)", "Intérim"),
    ("Alternance/apprentissage", "Alternance"), ("Saisonnier - 3 Mois", "Saisonnier"), ("Bénévolat", "Bénévolat"),
])
def test_contract_of_label(label: str, contract: str) -> None:
    assert contract_of_label(label) == contract


@pytest.mark.parametrize("phrase, months", [
    ("6 mois", 6), ("2 ans", 24), ("15 Jour(s)", 0.5), ("six mois", 6), ("rien", None),
])
def test_duration_months(phrase: str, months: float | None) -> None:
    assert duration_months(phrase) == months


@pytest.mark.parametrize("text, expected", [
    ("Recherche un CDI.", ("CDI",)),
    ("Mobilité : toute la France. Ouvert à un stage ou un CDD.", ("Stage", "CDD")),
    ("Je recherche exclusivement un CDI.", ("CDI",)),
    ("Contrat recherché : CDI,\nCDD ou intérim.", ("CDI", "CDD", "Intérim")),
    ("Contrat recherché\n\nCDI ou CDD.", ("CDI", "CDD")),
    ("Contrat recherché : Stage de 6 mois (convention de stage fournie par l'école).", ("Stage",)),
    ("Contrat recherché : CDD, contrat d'engagement éducatif ou emploi saisonnier.", ("CDD", "Saisonnier")),
    ("Contrat recherché : Uniquement en CDI.", ("CDI",)),
    ("CDI de préférence ; CDD possible.", ()),
    ("Aide-soignant (CDD de remplacement), Centre hospitalier, 2023.", ()),
    ("Je recherche un poste à Mende ou à proximité.", ()),
    ("Disponible immédiatement pour un CDD ou un remplacement.", ("CDD",)),
    ("Looking for a permanent position.", ("CDI",)),
])
def test_cv_contracts(text: str, expected: tuple[str, ...]) -> None:
    assert cv_contracts(text)[0] == expected

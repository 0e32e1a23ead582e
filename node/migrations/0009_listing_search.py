"""Listing search: the full-text index on ``listing.search_text`` and the index of places.

Neither can be said in the model, so this migration writes SQL, one dialect at a time
(``node/listings/search_sql.py`` reads them and says why they are so; the measurements are in
``docs/performance.md``):

* SQLite: ``listing_fts``, a *contentless* FTS5 table (the text stays in ``listing``) kept in
  step by three triggers. Its rowid is not the listing's id but a key, the publication second
  times 2^31 plus the id, so that FTS5 yields matches newest first and a search stops at its
  page (external content would tie the rowid to the id). Besides the listing's terms it
  indexes *facets*, ``_s_<status>``, ``_k_<kind>``, ``_c_<category in hex>`` (one word
  whatever the category holds), ``_a_<audience>``: words with an underscore, which the ``tokenchars`` option keeps whole and which no search
  term can spell (terms are letters and digits), so that words and these filters intersect
  inside the index. ``unicode61`` with ``remove_diacritics 2``; ``detail=none`` and
  ``columnsize=0`` (which listings hold a term, nothing more: no positions, no sizes);
  prefix indexes of 2 and 3 characters for the word being typed; ``listing_fts_vocab`` to
  spell out a longer prefix.
* PostgreSQL: a stored generated ``tsvector`` column, ``search_vector``, that holds the terms as
  they are (``simple``) and their French and English stems, without positions (``strip``),
  and a GIN index on it. Stored rather than an expression index: a plan that walks listings
  newest first and tests each against the query (the fast one for common words) then reads
  the vector instead of computing three ``to_tsvector`` per row.
* Both: an index on ``(status, latitude, longitude)`` (SQLite: and ``published_at``), for the
  bounding box of a distance filter.

The generated column and the indexes are not in ``Listing``'s fields: tortoise cannot declare
them, and ``Listing`` never reads or writes them.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# The FTS rowid of a listing: its publication second, then its id (below 2^31), so that FTS5
# hands matches newest first by itself. node/listings/search_sql.py computes the same key.
_KEY = (
    "(max(0, coalesce(CAST(strftime('%s', {row}.published_at) AS INTEGER), 0)) * 2147483648"
    " + {row}.id)"
)
# What listing_fts indexes for a listing: its terms and its facets (search_sql.facet()).
_DOCUMENT = (
    "({row}.search_text || ' _s_' || {row}.status || ' _k_' || {row}.kind"
    " || ' _c_' || hex({row}.category) || ' _a_' || {row}.audience)"
)
_NEW_KEY, _OLD_KEY = _KEY.format(row="new"), _KEY.format(row="old")
_NEW_DOC, _OLD_DOC = _DOCUMENT.format(row="new"), _DOCUMENT.format(row="old")

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE listing_fts USING fts5(document, content='',"
    " tokenize=\"unicode61 remove_diacritics 2 tokenchars '_'\", detail=none, columnsize=0,"
    " prefix='2 3')",
    "CREATE TRIGGER listing_fts_insert AFTER INSERT ON listing BEGIN"
    f" INSERT INTO listing_fts(rowid, document) VALUES ({_NEW_KEY}, {_NEW_DOC}); END",
    # Contentless: a deletion names the terms it removes, the very ones indexed.
    "CREATE TRIGGER listing_fts_delete AFTER DELETE ON listing BEGIN"
    " INSERT INTO listing_fts(listing_fts, rowid, document)"
    f" VALUES ('delete', {_OLD_KEY}, {_OLD_DOC}); END",
    # Only when what is indexed changes: an edit of the price leaves the index alone.
    "CREATE TRIGGER listing_fts_update AFTER UPDATE OF search_text, published_at, status,"
    " kind, category, audience ON listing BEGIN"
    " INSERT INTO listing_fts(listing_fts, rowid, document)"
    f" VALUES ('delete', {_OLD_KEY}, {_OLD_DOC});"
    f" INSERT INTO listing_fts(rowid, document) VALUES ({_NEW_KEY}, {_NEW_DOC}); END",
    "CREATE VIRTUAL TABLE listing_fts_vocab USING fts5vocab(listing_fts, 'row')",
    # Listings stored before this migration.
    f"INSERT INTO listing_fts(rowid, document) SELECT {_KEY.format(row='listing')},"
    f" {_DOCUMENT.format(row='listing')} FROM listing",
    # The rings of "nearest": the status first (open, most often), the key of listing_fts
    # last, so that a listing is tested against the words before its row is read.
    'CREATE INDEX "idx_listing_place" ON "listing" ("status", "latitude", "longitude",'
    ' "published_at")',
]
SQLITE_BACKWARD = [
    'DROP INDEX "idx_listing_place"',
    "DROP TRIGGER listing_fts_update",
    "DROP TRIGGER listing_fts_delete",
    "DROP TRIGGER listing_fts_insert",
    "DROP TABLE listing_fts_vocab",
    "DROP TABLE listing_fts",
]

POSTGRES_FORWARD = [
    "ALTER TABLE listing ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (strip("
    "to_tsvector('simple'::regconfig, search_text)"
    " || to_tsvector('french'::regconfig, search_text)"
    " || to_tsvector('english'::regconfig, search_text))) STORED",
    # Ten times the default sample: the planner then knows that a word absent from its
    # statistics is rare, and reads the GIN index instead of walking every open listing
    # newest first in search of it (2.3 s for a word no listing holds, at a million).
    "ALTER TABLE listing ALTER COLUMN search_vector SET STATISTICS 1000",
    'CREATE INDEX "idx_listing_search_vector" ON "listing" USING gin (search_vector)',
    'CREATE INDEX "idx_listing_place" ON "listing" ("status", "latitude", "longitude")',
]
POSTGRES_BACKWARD = [
    'DROP INDEX "idx_listing_place"',
    'DROP INDEX "idx_listing_search_vector"',
    "ALTER TABLE listing DROP COLUMN search_vector",
]


async def _run(schema_editor: BaseSchemaEditor, sqlite: list[str], postgres: list[str]) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect == "sqlite":
        statements = sqlite
    elif dialect == "postgres":
        statements = postgres
    else:
        raise RuntimeError(f"listing search supports SQLite and PostgreSQL, not {dialect}")
    for sql in statements:
        if schema_editor.collect_sql:  # sqlmigrate: show, do not run
            schema_editor.collected_sql.append(f"{sql};")
        else:
            # One statement at a time, in the migration's transaction: the schema editor's own
            # runner splits SQLite scripts at every semicolon, those inside a trigger too.
            await schema_editor.client.execute_query(sql)


async def forward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """Create the search index, its triggers and the index of places."""
    await _run(schema_editor, SQLITE_FORWARD, POSTGRES_FORWARD)


async def backward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """Drop what :func:`forward` created."""
    await _run(schema_editor, SQLITE_BACKWARD, POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("node", "0008_response_offer")]

    initial = False

    operations = [ops.RunPython(forward, backward)]

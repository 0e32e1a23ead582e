"""Listing search: the full-text index on ``listing.search_text`` and the index of places.

Neither can be said in the model, so this migration writes SQL, one dialect at a time
(``node/listings/search.py`` is what reads them; ``docs/performance.md`` says why these):

* SQLite: ``listing_fts``, an FTS5 table with *external content* (``listing`` holds the text, the
  index only its terms: no copy of the text, and ``'rebuild'`` and ``'integrity-check'`` work
  against the table), kept in step by three triggers. The ``unicode61`` tokenizer with
  ``remove_diacritics 2`` (the text is folded already, the triggers keep it safe if not);
  ``detail=none`` (only which listings hold a term: the search needs no positions, and the index
  is a third of the size); prefix indexes of 2 and 3 characters for the prefix term people type.
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
# hands matches newest first by itself. node/listings/search.py computes the same key.
_KEY = (
    "(max(0, coalesce(CAST(strftime('%s', {row}.published_at) AS INTEGER), 0)) * 2147483648"
    " + {row}.id)"
)
_NEW, _OLD = _KEY.format(row="new"), _KEY.format(row="old")

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE listing_fts USING fts5(search_text, content='',"
    " tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0, prefix='2 3')",
    "CREATE TRIGGER listing_fts_insert AFTER INSERT ON listing BEGIN"
    f" INSERT INTO listing_fts(rowid, search_text) VALUES ({_NEW}, new.search_text); END",
    "CREATE TRIGGER listing_fts_delete AFTER DELETE ON listing BEGIN"
    " INSERT INTO listing_fts(listing_fts, rowid, search_text)"
    f" VALUES ('delete', {_OLD}, old.search_text); END",
    # Only when the text or the key changes: a status change leaves the index alone.
    "CREATE TRIGGER listing_fts_update AFTER UPDATE OF search_text, published_at ON listing"
    " BEGIN INSERT INTO listing_fts(listing_fts, rowid, search_text)"
    f" VALUES ('delete', {_OLD}, old.search_text);"
    f" INSERT INTO listing_fts(rowid, search_text) VALUES ({_NEW}, new.search_text); END",
    # Its terms (a prefix the user types becomes the terms it stands for: see search_sql.py).
    "CREATE VIRTUAL TABLE listing_fts_vocab USING fts5vocab(listing_fts, 'row')",
    # Listings stored before this migration.
    f"INSERT INTO listing_fts(rowid, search_text) SELECT {_KEY.format(row='listing')},"
    " search_text FROM listing",
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
    dependencies = [("node", "0006_listings")]

    initial = False

    operations = [ops.RunPython(forward, backward)]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.listings.models import Audience, Kind, ResponseState, Status
from node.notifications.models import NotificationType
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0005_message_forms_and_threads')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Listing',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('local', fields.BooleanField()),
                ('author', fields.CharField(db_index=True, max_length=2048)),
                ('origin_host', fields.CharField(max_length=255)),
                ('kind', fields.CharEnumField(description='GIVE: give\nLEND: lend\nSELL: sell\nSERVICE: service\nREQUEST: request\nCARPOOL: carpool', enum_type=Kind, max_length=16)),
                ('status', fields.CharEnumField(default=Status.OPEN, description='OPEN: open\nRESERVED: reserved\nDONE: done\nWITHDRAWN: withdrawn\nEXPIRED: expired', enum_type=Status, max_length=16)),
                ('audience', fields.CharEnumField(description='NODE: node\nPARTNERS: partners\nPUBLIC: public', enum_type=Audience, max_length=16)),
                ('category', fields.CharField(max_length=32)),
                ('title', fields.CharField(max_length=200)),
                ('description_html', fields.TextField(default='', unique=False)),
                ('description', fields.TextField(default='', unique=False)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('price_minor', fields.BigIntField(null=True)),
                ('currency', fields.CharField(null=True, max_length=3)),
                ('quantity', fields.IntField(default=1)),
                ('available_quantity', fields.IntField(default=1)),
                ('availability', fields.CharField(default='', max_length=500)),
                ('place_name', fields.CharField(default='', max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('radius_m', fields.IntField(null=True)),
                ('search_text', fields.TextField(default='', unique=False)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'listing', 'app': 'node', 'indexes': [Index(fields=['status', 'published_at']), Index(fields=['status', 'expires_at']), Index(fields=['author', 'status']), Index(fields=['origin_host', 'status'])], 'pk_attr': 'id', 'table_description': 'A listing: ours (``local``) or a copy of one a partner node (or any server) published.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Media',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('owner', fields.CharField(db_index=True, max_length=2048)),
                ('listing', fields.ForeignKeyField('node.Listing', source_field='listing_id', null=True, db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(default=0)),
                ('description', fields.CharField(default='', max_length=1500)),
                ('content_type', fields.CharField(max_length=32)),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('size', fields.IntField()),
                ('file', fields.CharField(max_length=255)),
                ('thumbnail', fields.CharField(max_length=255)),
                ('remote_url', fields.CharField(null=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'media', 'app': 'node', 'pk_attr': 'id', 'table_description': 'One stored image (re-encoded, metadata stripped) and its thumbnail.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Response',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('listing', fields.ForeignKeyField('node.Listing', source_field='listing_id', db_constraint=True, to_field='id', related_name='responses', on_delete=OnDelete.CASCADE)),
                ('responder', fields.CharField(db_index=True, max_length=2048)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('form', fields.CharField(max_length=16)),
                ('agreement_id', fields.CharField(null=True, max_length=2048)),
                ('message', fields.TextField(default='', unique=False)),
                ('quantity', fields.IntField(default=1)),
                ('state', fields.CharEnumField(default=ResponseState.PENDING, description='PENDING: pending\nACCEPTED: accepted\nDECLINED: declined\nWITHDRAWN: withdrawn\nDONE: done', enum_type=ResponseState, max_length=16)),
                ('conversation', fields.ForeignKeyField('node.Conversation', source_field='conversation_id', null=True, db_constraint=True, to_field='id', related_name='listing_responses', on_delete=OnDelete.SET_NULL)),
                ('thanks_from_author', fields.CharField(default='', max_length=500)),
                ('thanks_from_responder', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'listing_response', 'app': 'node', 'indexes': [Index(fields=['listing_id', 'state'])], 'pk_attr': 'id', 'table_description': 'A neighbour (local or on another node) answering a listing, and the agreement it becomes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SavedSearch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='saved_searches', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('query', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'saved_search', 'app': 'node', 'pk_attr': 'id', 'table_description': "A member's search kept as an alert: new matching listings notify them."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('type', fields.CharEnumField(description='RESPONSE: listing.response\nAGREEMENT: listing.agreement\nEXPIRING: listing.expiring\nMATCH: saved_search.match', enum_type=NotificationType, max_length=32)),
                ('actor', fields.CharField(null=True, max_length=2048)),
                ('listing', fields.ForeignKeyField('node.Listing', source_field='listing_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('response', fields.ForeignKeyField('node.Response', source_field='response_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('saved_search', fields.ForeignKeyField('node.SavedSearch', source_field='saved_search_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'node', 'indexes': [Index(fields=['member_id', 'id']), Index(fields=['member_id', 'read_at'])], 'pk_attr': 'id', 'table_description': 'One thing a member should see, until they mark it read.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.notifications.models import NotificationType
from node.statuses.models import StatusKind, Visibility
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0017_oauth')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountRef',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(unique=True, max_length=2048)),
            ],
            options={'table': 'account_ref', 'app': 'node', 'pk_attr': 'id', 'table_description': "The client API's number for an account (a member here or an actor elsewhere): apps"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Marker',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('timeline', fields.CharField(max_length=16)),
                ('last_read_id', fields.CharField(max_length=32)),
                ('version', fields.IntField(default=1)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'timeline_marker', 'app': 'node', 'unique_together': (('member', 'timeline'),), 'pk_attr': 'id', 'table_description': 'Where a member stopped reading a timeline (``home`` or ``notifications``), shared by'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Status',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('url', fields.CharField(null=True, max_length=2048)),
                ('author', fields.CharField(db_index=True, max_length=2048)),
                ('local', fields.BooleanField()),
                ('kind', fields.CharEnumField(description='NOTE: note\nQUESTION: question\nARTICLE: article\nPAGE: page\nEVENT: event\nLISTING: listing\nMESSAGE: message', enum_type=StatusKind, max_length=16)),
                ('visibility', fields.CharEnumField(description='PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private\nDIRECT: direct', enum_type=Visibility, max_length=16)),
                ('content', fields.TextField(default='', unique=False)),
                ('text', fields.TextField(null=True, unique=False)),
                ('title', fields.CharField(default='', max_length=500)),
                ('spoiler_text', fields.CharField(default='', max_length=1000)),
                ('sensitive', fields.BooleanField(default=False)),
                ('language', fields.CharField(null=True, max_length=16)),
                ('in_reply_to', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('in_reply_to_author', fields.CharField(null=True, max_length=2048)),
                ('reblog_of', fields.ForeignKeyField('node.Status', source_field='reblog_of_id', null=True, db_constraint=True, to_field='id', related_name='reblogs', on_delete=OnDelete.CASCADE)),
                ('listing', fields.ForeignKeyField('node.Listing', source_field='listing_id', null=True, db_constraint=True, to_field='id', related_name='statuses', on_delete=OnDelete.CASCADE)),
                ('message', fields.ForeignKeyField('node.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='statuses', on_delete=OnDelete.CASCADE)),
                ('mentions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('attachments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('has_media', fields.BooleanField(default=False)),
                ('poll', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('application', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'status', 'app': 'node', 'indexes': [Index(fields=['visibility', 'local', 'id'])], 'pk_attr': 'id', 'table_description': 'One status, local or remote.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotentPost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=64)),
                ('status', fields.ForeignKeyField('node.Status', source_field='status_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotent_post', 'app': 'node', 'unique_together': (('member', 'key'),), 'pk_attr': 'id', 'table_description': 'A status posted with an ``Idempotency-Key``: the same key within an hour gets the same'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusTag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('status', fields.ForeignKeyField('node.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='tag_index', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'status_tag', 'app': 'node', 'unique_together': (('name', 'status'),), 'pk_attr': 'id', 'table_description': 'A status filed under one of its hashtags (tag timelines read this index).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TimelineEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('node.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='timeline_entries', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'timeline_entry', 'app': 'node', 'unique_together': (('member', 'status'),), 'pk_attr': 'id', 'table_description': "A status in a member's home timeline."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Media',
            name='focus',
            field=fields.CharField(default='', db_default='', max_length=32),
        ),
        ops.AddField(
            model_name='Media',
            name='status',
            field=fields.ForeignKeyField('node.Status', source_field='status_id', null=True, db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='RESPONSE: listing.response\nAGREEMENT: listing.agreement\nEXPIRING: listing.expiring\nMATCH: saved_search.match\nVERIFIED: verification.verified\nVOUCHED: verification.vouched\nDOCUMENT_REJECTED: verification.rejected\nVERIFICATION_LOST: verification.lost\nVERIFICATION_REVIEW: verification.review\nREPORT: moderation.report\nWARNING: moderation.warning\nDECISION: moderation.decision\nENDED: moderation.ended\nNOTICE: notice.published\nURGENT_NOTICE: notice.urgent\nPROBLEM_STATUS: problem.status\nPROBLEM_COMMENT: problem.comment\nPROBLEM_NEW: problem.new\nFOLLOW_REQUEST: follow.request\nMENTION: status.mention', enum_type=NotificationType, max_length=32),
        ),
        ops.AddField(
            model_name='Notification',
            name='status',
            field=fields.ForeignKeyField('node.Status', source_field='status_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE),
        ),
    ]

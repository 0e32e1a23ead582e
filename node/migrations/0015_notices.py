from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.notices.models import NoticeAudience
from node.notifications.models import NotificationType
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0014_member_blocks_and_mutes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('local', fields.BooleanField()),
                ('author', fields.CharField(max_length=2048)),
                ('origin_host', fields.CharField(max_length=255)),
                ('kind', fields.CharField(max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('text', fields.TextField(default='', unique=False)),
                ('text_html', fields.TextField(default='', unique=False)),
                ('place_name', fields.CharField(default='', max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('audience', fields.CharEnumField(default=NoticeAudience.NODE, description='NODE: node\nDISTRICTS: districts', enum_type=NoticeAudience, max_length=16)),
                ('public', fields.BooleanField(default=False)),
                ('remote_photos', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice', 'app': 'node', 'indexes': [Index(fields=['local', 'published_at'])], 'pk_attr': 'id', 'table_description': 'One notice. Local ones are published by a manager or an admin, received ones come from'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Media',
            name='notice',
            field=fields.ForeignKeyField('node.Notice', source_field='notice_id', null=True, db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='RESPONSE: listing.response\nAGREEMENT: listing.agreement\nEXPIRING: listing.expiring\nMATCH: saved_search.match\nVERIFIED: verification.verified\nVOUCHED: verification.vouched\nDOCUMENT_REJECTED: verification.rejected\nVERIFICATION_LOST: verification.lost\nVERIFICATION_REVIEW: verification.review\nREPORT: moderation.report\nWARNING: moderation.warning\nDECISION: moderation.decision\nENDED: moderation.ended\nNOTICE: notice.published\nURGENT_NOTICE: notice.urgent', enum_type=NotificationType, max_length=32),
        ),
        ops.AddField(
            model_name='Notification',
            name='notice',
            field=fields.ForeignKeyField('node.Notice', source_field='notice_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE),
        ),
    ]

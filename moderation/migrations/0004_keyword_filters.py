from tortoise import migrations
from tortoise.migrations import operations as ops
from moderation.models import FilterAction, HeldState
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('moderation', '0003_policy_override')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FilteredContent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=16)),
                ('target', fields.CharField(unique=True, max_length=2048)),
                ('author', fields.CharField(max_length=2048)),
                ('local', fields.BooleanField()),
                ('state', fields.CharEnumField(description='HELD: held\nHIDDEN: hidden\nRELEASED: released\nREJECTED: rejected', enum_type=HeldState, max_length=16)),
                ('reason', fields.CharField(max_length=300)),
                ('excerpt', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_by', fields.CharField(default='', max_length=100)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_filtered_content', 'app': 'moderation', 'indexes': [Index(fields=['state', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A listing, message or response a keyword filter (or a limit on links and mentions)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='KeywordFilter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('phrase', fields.CharField(unique=True, max_length=200)),
                ('action', fields.CharEnumField(description='HIDE: hide\nHOLD: hold', enum_type=FilterAction, max_length=8)),
                ('created_by', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_keyword_filter', 'app': 'moderation', 'pk_attr': 'id', 'table_description': "A word or phrase the community's moderators filter (whole words, any case)."},
            bases=['Model'],
        ),
    ]

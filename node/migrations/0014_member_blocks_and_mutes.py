from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.relations.models import RelationKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0013_erased_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberRelation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('node.Member', source_field='owner_id', db_constraint=True, to_field='id', related_name='relations', on_delete=OnDelete.CASCADE)),
                ('target', fields.CharField(max_length=2048)),
                ('kind', fields.CharEnumField(description='BLOCK: block\nMUTE: mute', enum_type=RelationKind, max_length=8)),
                ('activity', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('target_inbox', fields.CharField(null=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_relation', 'app': 'node', 'unique_together': (('owner', 'target', 'kind'),), 'indexes': [Index(fields=['target', 'kind'])], 'pk_attr': 'id', 'table_description': '``owner`` blocks or mutes ``target`` (an actor id: a neighbour here or someone'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteBlock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(max_length=2048)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='blocked_by', on_delete=OnDelete.CASCADE)),
                ('activity_id', fields.CharField(unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_block', 'app': 'node', 'unique_together': (('actor', 'member'),), 'pk_attr': 'id', 'table_description': '``actor`` (on another server) blocked our ``member``: their ``Block`` activity.'},
            bases=['Model'],
        ),
    ]
